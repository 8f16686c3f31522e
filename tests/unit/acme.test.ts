// The pure parts of ACME: account thumbprints (RFC 7638), ARI certificate ids and
// renewal windows (RFC 9773), the retry backoff, and the certificate alerts.
import "reflect-metadata";
import { describe, expect, it } from "vitest";
import { createPublicKey, generateKeyPairSync, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { ariCertId, parseRenewalInfo, parseRetryAfter, pickInWindow, thumbprintOf } from "@/server/acme/client";
import { dueByLifetime, orderNames, retryDelayS } from "@/server/services/acme";
import { certificateAlerts } from "@/server/services/certificates";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

describe("ACME account thumbprint (RFC 7638)", () => {
  it("matches the RFC's worked example (RSA)", () => {
    // RFC 7638 §3.1: this key's thumbprint is NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
    const jwk = {
      kty: "RSA",
      n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
      e: "AQAB",
    };
    const pem = createPublicKey({ key: jwk, format: "jwk" }).export({ type: "spki", format: "pem" }).toString();
    expect(thumbprintOf(pem)).toBe("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  });

  it("is 43 base64url characters for an EC key, the same for its public and private halves", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const t = thumbprintOf(privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(thumbprintOf(publicKey.export({ type: "spki", format: "pem" }).toString())).toBe(t);
  });
});

describe("ACME Renewal Information (RFC 9773)", () => {
  it("computes a certificate's ARI id as the RFC's example does (AKI 69:88:5B…, serial 00:87:65:43:21)", async () => {
    const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
    const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: "0087654321",
      subject: "CN=example.com",
      issuer: "CN=Example CA",
      notBefore: new Date("2025-01-01T00:00:00Z"),
      notAfter: new Date("2025-04-01T00:00:00Z"),
      signingAlgorithm: alg,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      extensions: [new x509.AuthorityKeyIdentifierExtension("69885b6b87464041e1b37b847ba0ae2cde01c8d4")],
    });
    expect(ariCertId(cert.toString("pem"))).toBe("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  });

  it("reads a suggested window and Retry-After, refuses a window that ends before it starts, and picks a time inside it", () => {
    const w = parseRenewalInfo({ suggestedWindow: { start: "2026-12-10T00:00:00Z", end: "2026-12-12T00:00:00Z" } }, "21600");
    expect(w).toEqual({ start: new Date("2026-12-10T00:00:00Z"), end: new Date("2026-12-12T00:00:00Z"), retryAfterS: 21600 });
    expect(() => parseRenewalInfo({ suggestedWindow: { start: "2026-12-12T00:00:00Z", end: "2026-12-10T00:00:00Z" } }, null)).toThrow(/no valid suggested window/);
    expect(() => parseRenewalInfo({}, null)).toThrow(/no valid suggested window/);
    expect(pickInWindow(w, () => 0)).toEqual(w.start);
    expect(pickInWindow(w, () => 0.5)).toEqual(new Date("2026-12-11T00:00:00Z"));
    const now = Date.parse("2026-12-04T00:00:00Z");
    expect(parseRetryAfter("Fri, 04 Dec 2026 01:00:00 GMT", now)).toBe(3600);
    expect(parseRetryAfter("soon", now)).toBeNull();
  });
});

describe("renewal timing", () => {
  it("without ARI, renews once a third of the lifetime remains", () => {
    expect(dueByLifetime({ notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2026-04-01T00:00:00Z") })).toEqual(new Date("2026-03-02T00:00:00Z"));
  });

  it("backs off exponentially with ±20 % jitter up to the maximum, never sooner than Retry-After", () => {
    const opts = { baseS: 300, maxS: 6 * 3600 };
    expect([1, 2, 3, 4].map((n) => retryDelayS(n, { ...opts, random: () => 0.5 }))).toEqual([300, 600, 1200, 2400]);
    expect(retryDelayS(20, { ...opts, random: () => 0.5 })).toBe(6 * 3600);
    expect(retryDelayS(1, { ...opts, random: () => 0 })).toBe(240);
    expect(retryDelayS(1, { ...opts, random: () => 1 })).toBe(360);
    expect(retryDelayS(1, { ...opts, retryAfterS: 7200, random: () => 0.5 })).toBe(7200);
  });

  it("orders the site's own name first, without repeating it", () => {
    expect(orderNames("shop.example.com", ["www.shop.example.com", "shop.example.com"])).toEqual(["shop.example.com", "www.shop.example.com"]);
  });
});

describe("certificate alerts", () => {
  const now = new Date("2026-12-04T12:00:00Z");
  const cert = (id: string, notBefore: string, notAfter: string, source = "acme") => ({
    id,
    purpose: "site",
    source,
    topologyId: "t1",
    serverId: null,
    names: JSON.stringify(["shop.example.com"]),
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
  });

  it("raises one when less than a sixth of the lifetime remains, or it expired, and for two failed renewals in a row", () => {
    const alerts = certificateAlerts(
      [
        cert("fresh", "2026-12-01T00:00:00Z", "2027-03-01T00:00:00Z"), // 87 of 90 days left
        cert("late", "2026-09-10T00:00:00Z", "2026-12-14T00:00:00Z"), // 9.5 of 95 days left
        cert("gone", "2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z", "uploaded"),
      ],
      [
        { topologyId: "t1", failures: 2, lastError: "the ACME server did not answer (ECONNREFUSED)", nextAttemptAt: new Date("2026-12-04T12:10:00Z") },
        { topologyId: "t2", failures: 1, lastError: "x", nextAttemptAt: null },
      ],
      now,
    );
    expect(alerts.map((a) => [a.kind, a.certificateId ?? a.topologyId])).toEqual([
      ["expiring", "late"],
      ["expired", "gone"],
      ["renewal-failing", "t1"],
    ]);
    expect(alerts[0]!.message).toMatch(/expires in 10 days/);
    expect(alerts[1]!.message).toMatch(/\(uploaded\) expired on 2026-12-01/);
    expect(alerts[2]!.message).toMatch(/2 ACME attempts in a row failed \(last: the ACME server did not answer/);
  });
});
