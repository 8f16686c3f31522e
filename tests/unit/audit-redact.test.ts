// What the audit log keeps of a request's input: no secret, no upload.
import { describe, expect, it } from "vitest";
import { redact } from "@/server/auth/audit";

describe("redact", () => {
  it("hides secret-looking fields, secret app variables, and long uploads", () => {
    const input = {
      id: "t1",
      privateKeyPem: "-----BEGIN PRIVATE KEY-----",
      contentBase64: "A".repeat(10_000),
      app: {
        env: [
          { name: "GREETING", value: "hello", secret: false },
          { name: "API_TOKEN", value: "tok-123456", secret: true },
        ],
      },
    };
    const out = JSON.stringify(redact(input));
    expect(out).not.toContain("PRIVATE KEY");
    expect(out).not.toContain("tok-123456");
    expect(out).toContain("hello");
    expect(out).toContain("[10000 characters]");
  });
});
