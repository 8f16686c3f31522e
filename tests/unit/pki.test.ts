// The internal CA and certificate checks. Certificates Rampart issues are verified
// with openssl (an independent implementation); uploads are checked against a
// root → intermediate → leaf chain that openssl makes.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createCa, issueServerCert, needsRenewal, permittedNamesOf, validateUpload } from "@/server/pki/x509";
import { nameConstraintProblem, permittedNameProblem } from "@/server/pki/names";
import { makeChain } from "../support/cert-fixtures";

const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-pki-"));
const f = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

let chain: ReturnType<typeof makeChain>;
beforeAll(() => {
  chain = makeChain();
});

describe("the internal CA", () => {
  it("issues server certificates that openssl verifies against the CA, for the names and addresses asked", async () => {
    const ca = await createCa("Rampart test CA");
    const cert = await issueServerCert(ca, ["lab2", "10.213.47.12"]);
    writeFileSync(f("ca.pem"), ca.certPem);
    writeFileSync(f("server.pem"), cert.certPem);
    expect(openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "server.pem").trim()).toBe("server.pem: OK");
    const text = openssl("x509", "-in", "server.pem", "-noout", "-ext", "subjectAltName");
    expect(text).toContain("DNS:lab2");
    expect(text).toContain("IP Address:10.213.47.12");
    expect(Math.round((cert.notAfter.getTime() - cert.notBefore.getTime()) / 86400_000)).toBe(30);
    // The key belongs to the certificate.
    writeFileSync(f("server.key"), cert.keyPem);
    expect(openssl("x509", "-in", "server.pem", "-noout", "-pubkey")).toBe(openssl("pkey", "-in", "server.key", "-pubout"));
    // The CA may not be used to make further CAs.
    expect(openssl("x509", "-in", "ca.pem", "-noout", "-ext", "basicConstraints")).toMatch(/CA:TRUE, pathlen:0/);
  });

  it("with permitted names (INTERNAL_CA_PERMITTED_NAMES) the CA is constrained: Rampart refuses names outside, and openssl refuses a certificate its key signs for one", async () => {
    const ca = await createCa("Rampart constrained CA", new Date(), 10, ["foobar.test", "10.213.47.0/24"]);
    expect(permittedNamesOf(ca.certPem)).toEqual(["foobar.test", "10.213.47.0/24"]);
    writeFileSync(f("cca.pem"), ca.certPem);
    writeFileSync(f("cca.key"), ca.keyPem);
    const ext = openssl("x509", "-in", "cca.pem", "-noout", "-ext", "nameConstraints");
    expect(ext).toMatch(/Name Constraints: critical/);
    expect(ext).toMatch(/Permitted:\s+DNS:foobar\.test\s+IP:10\.213\.47\.0\/255\.255\.255\.0/);

    const inside = await issueServerCert(ca, ["www.foobar.test", "foobar.test", "10.213.47.12"]);
    writeFileSync(f("inside.pem"), inside.certPem);
    expect(openssl("verify", "-CAfile", "cca.pem", "-purpose", "sslserver", "inside.pem").trim()).toBe("inside.pem: OK");
    await expect(issueServerCert(ca, ["www.foobar.test", "www.other.test"])).rejects.toThrow(/may only issue certificates for foobar\.test, 10\.213\.47\.0\/24 .*: www\.other\.test is outside them/);
    await expect(issueServerCert(ca, ["www.foobar.test", "10.9.9.9"])).rejects.toThrow(/10\.9\.9\.9 is outside them/);
    await expect(issueServerCert(ca, ["notfoobar.test"])).rejects.toThrow(/outside/);

    // Signed with the CA's key by other means, a name outside is still refused by clients.
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "evil.key");
    openssl("req", "-new", "-key", "evil.key", "-subj", "/CN=www.other.test", "-addext", "subjectAltName=DNS:www.other.test", "-out", "evil.csr");
    openssl("x509", "-req", "-in", "evil.csr", "-CA", "cca.pem", "-CAkey", "cca.key", "-set_serial", "7", "-copy_extensions", "copy", "-days", "1", "-out", "evil.pem");
    let refused = "";
    try {
      openssl("verify", "-CAfile", "cca.pem", "evil.pem");
    } catch (e) {
      refused = String((e as { stdout?: string }).stdout) + String((e as { stderr?: string }).stderr);
    }
    expect(refused).toMatch(/permitted subtree violation/);
  });

  it("checks permitted names as written, and a kind of name without a permitted subtree stays free", () => {
    expect(permittedNameProblem("example.com")).toBeNull();
    expect(permittedNameProblem("fd00::/8")).toBeNull();
    expect(permittedNameProblem("10.0.0.1")).toMatch(/is an address: write a network such as 10\.0\.0\.1\/32/);
    expect(permittedNameProblem("10.0.0.0/33")).toMatch(/not a network/);
    expect(permittedNameProblem("bad_name!")).toMatch(/not a DNS name/);
    expect(nameConstraintProblem(["example.com"], ["a.example.com", "192.0.2.1"])).toBeNull();
    expect(nameConstraintProblem(["fd00::/8"], ["fd12:3456::1", "anything.test"])).toBeNull();
    expect(nameConstraintProblem(["fd00::/8"], ["fe80::1"])).toMatch(/fe80::1 is outside/);
  });

  it("re-issues after two-thirds of a certificate's lifetime", () => {
    const notBefore = new Date("2026-01-01T00:00:00Z");
    const notAfter = new Date("2026-01-31T00:00:00Z");
    expect(needsRenewal({ notBefore, notAfter }, new Date("2026-01-20T23:00:00Z"))).toBe(false);
    expect(needsRenewal({ notBefore, notAfter }, new Date("2026-01-21T00:00:01Z"))).toBe(true);
  });
});

describe("validating an uploaded site certificate", () => {
  const site = "www.foobar.test";
  it("accepts a chain in order with its key, and splits leaf and chain", () => {
    const r = validateUpload({ certificatePem: chain.leaf + chain.int, privateKeyPem: chain.leafKey, siteName: site });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.names).toEqual([site]);
      expect(r.value.chainPem).toContain("BEGIN CERTIFICATE");
      expect(r.value.issuer).toContain("Test Intermediate");
    }
  });

  const problems = (input: Partial<Parameters<typeof validateUpload>[0]>) => {
    const r = validateUpload({ certificatePem: chain.leaf + chain.int, privateKeyPem: chain.leafKey, siteName: site, ...input });
    return r.ok ? [] : r.problems.map((p) => `${p.field}: ${p.message}`);
  };

  it("a key that does not match", () => {
    expect(problems({ privateKeyPem: chain.otherKey })).toEqual(["privateKey: the private key does not match the certificate (its public key is different)"]);
  });
  it("an expired certificate", () => {
    expect(problems({ now: new Date(Date.now() + 20 * 86400_000) })).toEqual([expect.stringMatching(/^certificate: the site's certificate expired on \d{4}-\d\d-\d\d$/)]);
  });
  it("a name that does not cover the site", () => {
    expect(problems({ certificatePem: chain.other + chain.int, privateKeyPem: chain.otherKey })).toEqual(["certificate: the certificate is for www.other.test, not www.foobar.test"]);
  });
  it("a chain out of order", () => {
    expect(problems({ certificatePem: chain.leaf + chain.root + chain.int })).toEqual([
      "certificate: the chain is out of order: certificate 1 is signed by certificate 3, which must come right after it",
    ]);
    expect(problems({ certificatePem: chain.int + chain.leaf })).toContain(
      "certificate: the chain is out of order: the private key belongs to certificate 2, the site's certificate, which must come first",
    );
  });
  it("garbage", () => {
    expect(problems({ certificatePem: "hello" })).toEqual(["certificate: no PEM certificate found (expected -----BEGIN CERTIFICATE----- blocks, the site's certificate first)"]);
    expect(problems({ privateKeyPem: "nope" })).toEqual(["privateKey: this is not a readable private key in PEM format (an encrypted key must be decrypted first)"]);
  });

  it("certificates the servers' OpenSSL would refuse, or not for servers", () => {
    const make = (...args: string[]) => {
      const d = mkdtempSync(path.join(os.tmpdir(), "rampart-weak-"));
      execFileSync(
        "openssl",
        ["req", "-x509", "-nodes", "-keyout", "k", "-out", "c", "-subj", `/CN=${site}`, "-addext", `subjectAltName=DNS:${site}`, "-addext", "basicConstraints=CA:FALSE", "-days", "5", ...args],
        { cwd: d, stdio: "pipe" },
      );
      return { cert: readFileSync(path.join(d, "c"), "utf8"), key: readFileSync(path.join(d, "k"), "utf8") };
    };
    const check = (c: { cert: string; key: string }) => problems({ certificatePem: c.cert, privateKeyPem: c.key });
    expect(check(make("-newkey", "rsa:1024"))).toContain("certificate: the certificate's RSA key has 1024 bits; at least 2048 are needed");
    expect(check(make("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-sha1"))).toContain(
      "certificate: the site's certificate is signed with SHA-1, which servers refuse; have it re-issued with SHA-256",
    );
    expect(check(make("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-addext", "extendedKeyUsage=clientAuth"))).toContain(
      "certificate: the certificate is not for TLS servers (its extended key usage lacks serverAuth)",
    );
    expect(check(make("-newkey", "rsa:2048"))).toEqual([]);
  });
});
