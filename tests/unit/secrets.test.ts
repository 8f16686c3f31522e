import { randomBytes } from "node:crypto";
import { mkdtempSync, statSync, chmodSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { SecretBox } from "@/server/secrets/envelope";
import { Secret } from "@/server/secrets/secret";
import { loadMasterKey, masterKeyPath } from "@/server/secrets/master-key";

const box = new SecretBox(randomBytes(32));

describe("SecretBox (AES-256-GCM envelope)", () => {
  it("round-trips, with a fresh data key and IV each time", () => {
    const a = box.encrypt("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "ssh-key:k1");
    const b = box.encrypt("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", "ssh-key:k1");
    expect(a).not.toBe(b);
    expect(a).not.toContain("PRIVATE");
    expect(box.decrypt(a, "ssh-key:k1").reveal()).toBe("-----BEGIN OPENSSH PRIVATE KEY-----\nabc");
  });

  it("refuses a ciphertext moved to another record, a wrong master key, or tampering", () => {
    const c = box.encrypt("s3cret", "ssh-key:k1");
    expect(() => box.decrypt(c, "ssh-key:k2")).toThrow(/another record|wrong master key/);
    expect(() => new SecretBox(randomBytes(32)).decrypt(c, "ssh-key:k1")).toThrow(/wrong master key/);
    const parts = c.split(".");
    parts[6] = Buffer.from("tampered!").toString("base64url");
    expect(() => box.decrypt(parts.join("."), "ssh-key:k1")).toThrow();
  });

  it("a Secret never prints its value", () => {
    const s = new Secret("hunter2hunter2");
    expect(String(s)).toBe("[secret]");
    expect(JSON.stringify({ s })).toBe('{"s":"[secret]"}');
    expect(inspect(s)).toBe("[secret]");
    expect(`${s}`).not.toContain("hunter2");
  });
});

describe("master key file", () => {
  it("is created with mode 0600 and refused when others can read it", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-mk-"));
    const key = loadMasterKey({ dataDir: dir, create: true });
    expect(key).toHaveLength(32);
    expect(statSync(masterKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(loadMasterKey({ dataDir: dir, create: false }).equals(key)).toBe(true);
    chmodSync(masterKeyPath(dir), 0o644);
    expect(() => loadMasterKey({ dataDir: dir, create: false })).toThrow(/readable by other users/);
  });

  it("RAMPART_MASTER_KEY must be 32 bytes of base64", () => {
    expect(() => loadMasterKey({ envKey: "c2hvcnQ=", dataDir: "/nonexistent", create: false })).toThrow(/32 random bytes/);
    expect(loadMasterKey({ envKey: randomBytes(32).toString("base64"), dataDir: "/nonexistent", create: false })).toHaveLength(32);
  });
});
