// The console's response headers and its Host allowlist (scripts/web-security.mjs).
import { describe, expect, it } from "vitest";
import { allowedHosts, contentSecurityPolicy, hostAllowed, securityHeaders } from "@/scripts/web-security.mjs";

describe("security headers", () => {
  it("a nonce-based script policy, no framing, nosniff, and HSTS only over HTTPS", () => {
    const csp = contentSecurityPolicy("abc123");
    expect(csp).toContain("script-src 'self' 'nonce-abc123' 'strict-dynamic'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
    expect(securityHeaders({ nonce: "n", https: false })).not.toHaveProperty("Strict-Transport-Security");
    expect(securityHeaders({ nonce: "n", https: true })).toMatchObject({ "Strict-Transport-Security": "max-age=31536000", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin" });
  });
});

describe("Host allowlist (DNS rebinding)", () => {
  const hosts = allowedHosts({ publicUrl: "https://rampart.example.com", allowedOrigins: "https://ops.example.com, http://10.0.0.5:3000" });
  it("answers localhost, IP literals and the configured names", () => {
    for (const h of ["localhost:3000", "LOCALHOST", "127.0.0.1:3000", "[::1]:3000", "10.1.2.3", "rampart.example.com", "rampart.example.com.:443", "ops.example.com", "app.localhost:3000"])
      expect(hostAllowed(h, hosts), h).toBe(true);
  });
  it("refuses any other name, and a missing Host", () => {
    for (const h of ["evil.example", "rampart.example.com.evil.example", "attacker.test:3000", "", undefined]) expect(hostAllowed(h, hosts), String(h)).toBe(false);
  });
});
