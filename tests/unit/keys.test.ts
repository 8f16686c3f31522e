import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import ssh2 from "ssh2";
import { generateEd25519, importPrivateKey, parseKnownHostsLine, parsePublicKeyLine, KeyImportError } from "@/server/exec/keys";

describe("SSH keys", () => {
  it("generates ed25519 pairs whose public half and fingerprint match the private key", () => {
    const k = generateEd25519("rampart@test");
    expect(k.publicKey).toMatch(/^ssh-ed25519 AAAA[\w+/=]+ rampart@test$/);
    const back = importPrivateKey(k.privateKey, undefined, "x");
    expect(back.fingerprint).toBe(k.fingerprint);
    expect(k.fingerprint).toMatch(/^SHA256:[\w+/]{43}$/);
  });

  it("fingerprints agree with ssh-keygen, and passphrase-protected keys import", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-keys-"));
    const file = path.join(dir, "id");
    expect(spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "open sesame", "-C", "", "-f", file]).status).toBe(0);
    const pem = readFileSync(file, "utf8");
    const keygenFp = spawnSync("ssh-keygen", ["-lf", `${file}.pub`], { encoding: "utf8" }).stdout.split(" ")[1];
    expect(importPrivateKey(pem, "open sesame", "").fingerprint).toBe(keygenFp);
    expect(() => importPrivateKey(pem, undefined, "")).toThrow(expect.objectContaining({ field: "passphrase", message: expect.stringMatching(/required/) }));
    expect(() => importPrivateKey(pem, "wrong", "")).toThrow(expect.objectContaining({ field: "passphrase", message: expect.stringMatching(/wrong/) }));
    // PEM (RSA, traditional format) too.
    const rsa = path.join(dir, "rsa");
    expect(spawnSync("ssh-keygen", ["-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f", rsa]).status).toBe(0);
    expect(importPrivateKey(readFileSync(rsa, "utf8"), undefined, "").type).toBe("ssh-rsa");
  });

  it("explains what is wrong with a pasted key", () => {
    expect(() => importPrivateKey("ssh-ed25519 AAAA", undefined, "")).toThrow(KeyImportError);
    expect(() => importPrivateKey("-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----", undefined, "")).toThrow(/could not be read/);
  });

  it("reads known_hosts lines and refuses keys whose data does not match their type", () => {
    const k = generateEd25519("");
    const [type, b64] = k.publicKey.split(" ");
    expect(parseKnownHostsLine(`[10.0.0.5]:2222 ${type} ${b64}`).fingerprint).toBe(k.fingerprint);
    expect(parseKnownHostsLine(`|1|abc=|def= ${type} ${b64}`).fingerprint).toBe(k.fingerprint);
    expect(() => parseKnownHostsLine(`host ssh-rsa ${b64}`)).toThrow(/does not match its type/);
    expect(() => parseKnownHostsLine("just-a-host")).toThrow(/expected/);
    expect(() => parsePublicKeyLine("ssh-foo AAAA")).toThrow(/not an SSH public key/);
  });
});

describe("generateEd25519 (many keys)", () => {
  it("every generated key reads back with its own public half (ssh2's generator occasionally writes one that does not)", () => {
    for (let i = 0; i < 1000; i++) {
      const k = generateEd25519(`k${i}`);
      const parsed = ssh2.utils.parseKey(k.privateKey);
      expect(parsed instanceof Error, `key ${i}`).toBe(false);
      expect((parsed as ssh2.ParsedKey).getPublicSSH().toString("base64")).toBe(k.publicKey.split(" ")[1]);
    }
  });
});
