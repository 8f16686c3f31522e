// Where a sign-in attempt comes from: X-Forwarded-For is believed only from the
// proxies TRUST_PROXY names, and IPv6 sources are counted by /64.
import { describe, expect, it } from "vitest";
import { clientAddress, trustedProxies } from "@/scripts/client-address.mjs";
import { LoginThrottle, MemoryThrottleStore, throttleSource } from "@/server/auth/throttle";
import { loadEnv } from "@/server/env";

describe("clientAddress", () => {
  it("ignores X-Forwarded-For from a peer that is not a configured proxy", () => {
    const none = trustedProxies("false");
    expect(clientAddress("203.0.113.9", "1.2.3.4", none)).toBe("203.0.113.9");
    // TRUST_PROXY=true trusts a proxy on this machine only, not any peer.
    const local = trustedProxies("true");
    expect(clientAddress("203.0.113.9", "1.2.3.4", local)).toBe("203.0.113.9");
    expect(clientAddress("::ffff:127.0.0.1", "198.51.100.7", local)).toBe("198.51.100.7");
  });

  it("reads the proxies' entries from the right, up to the first address that is not a proxy", () => {
    const proxies = trustedProxies("10.0.0.5, 10.0.1.0/24");
    expect(clientAddress("10.0.0.5", "6.6.6.6, 198.51.100.7", proxies)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.5", "6.6.6.6, 198.51.100.7, 10.0.1.20", proxies)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.5", "", proxies)).toBe("10.0.0.5");
    expect(clientAddress("10.0.0.5", "not-an-address", proxies)).toBe("10.0.0.5");
    expect(clientAddress("10.0.0.6", "198.51.100.7", proxies)).toBe("10.0.0.6");
  });

  it("TRUST_PROXY is validated at start", () => {
    expect(() => loadEnv({ DATA_DIR: "/tmp/x", TRUST_PROXY: "10.0.0.0/33" })).toThrow(/TRUST_PROXY must be false, true .* or a comma-separated list/);
    expect(() => loadEnv({ DATA_DIR: "/tmp/x", TRUST_PROXY: "proxy.example" })).toThrow(/TRUST_PROXY/);
    expect(loadEnv({ DATA_DIR: "/tmp/x", TRUST_PROXY: "10.0.0.5,2001:db8::/64" }).TRUST_PROXY).toBe("10.0.0.5,2001:db8::/64");
  });
});

describe("throttleSource", () => {
  it("counts an IPv6 source by its /64 and an IPv4-mapped one as IPv4", () => {
    expect(throttleSource("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(throttleSource("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(throttleSource("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(throttleSource("192.0.2.1")).toBe("192.0.2.1");
    expect(throttleSource("::1")).toBe("0:0:0:0::/64");
  });

  it("a fresh address from the same /64 does not escape the delay", async () => {
    const throttle = new LoginThrottle(
      { freeAttempts: 2, perAddressFreeAttempts: 100, perAccountFreeAttempts: 100, baseDelayMs: 1000, maxDelayMs: 60_000, windowMs: 600_000 },
      new MemoryThrottleStore(),
    );
    const now = Date.now();
    for (let i = 1; i <= 4; i++) await throttle.recordFailure("alice@example.test", `2001:db8:1:2::${i.toString(16)}`, now);
    expect(await throttle.retryAfterMs("alice@example.test", "2001:db8:1:2:ffff::99", now)).toBeGreaterThan(0);
    expect(await throttle.retryAfterMs("alice@example.test", "2001:db8:1:3::1", now)).toBe(0);
  });
});
