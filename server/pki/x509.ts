// Rampart's internal CA and the certificates it issues, with @peculiar/x509 on
// Node's WebCrypto (no openssl on the control plane). Keys are ECDSA P-256.
// Pure apart from randomness: storing and encrypting is the caller's job.
import "reflect-metadata"; // @peculiar/x509's dependency injection needs it, before the import below
import * as x509 from "@peculiar/x509";
import { AsnConvert } from "@peculiar/asn1-schema";
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from "@peculiar/asn1-x509";
import { createHash, randomBytes, webcrypto, X509Certificate, createPrivateKey } from "node:crypto";
import { isIP } from "node:net";
import { nameConstraintProblem } from "./names";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 3600 * 1000;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  serial: string;
}

async function exportKey(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key as webcrypto.CryptoKey), "PRIVATE KEY");
}

function serial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f; // positive
  return b.toString("hex");
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

// ---- Name constraints: what the internal CA may issue for (INTERNAL_CA_PERMITTED_NAMES; the checks are in names.ts)

function nameConstraintsExtension(permitted: readonly string[]): x509.Extension {
  // The library writes "10.0.0.0/8" as address and mask bytes, and reads it back so.
  const subtrees = permitted.map((p) => new GeneralSubtree({ base: new GeneralName(p.includes("/") ? { iPAddress: p } : { dNSName: p }) }));
  return new x509.Extension(id_ce_nameConstraints, true, AsnConvert.serialize(new NameConstraints({ permittedSubtrees: new GeneralSubtrees(subtrees) })));
}

/** The names a CA certificate is constrained to (as INTERNAL_CA_PERMITTED_NAMES writes them), or [] when it has none. */
export function permittedNamesOf(certPem: string): string[] {
  const ext = new x509.X509Certificate(certPem).getExtension(id_ce_nameConstraints);
  if (!ext) return [];
  const nc = AsnConvert.parse(ext.value, NameConstraints);
  return (nc.permittedSubtrees ?? []).flatMap((t) => (t.base.dNSName ? [t.base.dNSName] : t.base.iPAddress ? [t.base.iPAddress] : []));
}

/**
 * A new CA: self-signed, may sign server certificates only (path length 0); with
 * `permitted`, a critical name-constraints extension limits what it can vouch for.
 */
export async function createCa(commonName: string, now = new Date(), years = 10, permitted: readonly string[] = []): Promise<IssuedCert> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const notBefore = new Date(now.getTime() - 5 * 60_000); // tolerate clocks a little behind
  const notAfter = new Date(now.getTime() + years * 365 * DAY);
  const s = serial();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: s,
    name: `CN=${commonName}, O=Rampart`,
    notBefore,
    notAfter,
    keys: keys as unknown as CryptoKeyPair,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as CryptoKey),
      ...(permitted.length > 0 ? [nameConstraintsExtension(permitted)] : []),
    ],
  });
  const certPem = cert.toString("pem");
  return { certPem, keyPem: await exportKey(keys.privateKey as unknown as CryptoKey), notBefore, notAfter, fingerprint: fingerprintOf(certPem), serial: s };
}

/** A server certificate for these names (DNS names and IP addresses), signed by the CA. */
export async function issueServerCert(ca: { certPem: string; keyPem: string }, names: string[], now = new Date(), days = 30): Promise<IssuedCert> {
  if (names.length === 0) throw new Error("a certificate needs at least one name");
  // Clients would refuse a certificate outside the CA's constraints: say so now instead.
  const outside = nameConstraintProblem(permittedNamesOf(ca.certPem), names);
  if (outside) throw new Error(outside);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(ca.keyPem), ALG, false, ["sign"]);
  const keys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + days * DAY);
  const s = serial();
  const dnsFirst = names.find((n) => !isIP(n)) ?? names[0]!;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: s,
    subject: `CN=${dnsFirst}`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    signingKey: caKey as unknown as CryptoKey,
    publicKey: keys.publicKey as unknown as CryptoKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names.map((n) => (isIP(n) ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n }))),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const certPem = cert.toString("pem");
  return { certPem, keyPem: await exportKey(keys.privateKey as unknown as CryptoKey), notBefore, notAfter, fingerprint: fingerprintOf(certPem), serial: s };
}

/** Re-issue once two-thirds of the lifetime has passed (or the names changed). */
export function needsRenewal(c: { notBefore: Date; notAfter: Date }, now = new Date()): boolean {
  const life = c.notAfter.getTime() - c.notBefore.getTime();
  return now.getTime() >= c.notBefore.getTime() + (life * 2) / 3;
}

export const sameNames = (a: readonly string[], b: readonly string[]) => [...a].sort().join(",") === [...b].sort().join(",");

export const sha256Hex = (s: string) => createHash("sha256").update(s).digest("hex");

// ---- Validating a certificate an operator uploads

export interface UploadProblem {
  field: "certificate" | "privateKey";
  message: string;
}

export interface ValidUpload {
  leafPem: string;
  chainPem: string;
  keyPem: string;
  names: string[];
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  issuer: string;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function sanNames(c: X509Certificate): string[] {
  return (c.subjectAltName ?? "")
    .split(/,\s*/)
    .map((s) => s.trim())
    .filter((s) => s.startsWith("DNS:") || s.startsWith("IP Address:"))
    .map((s) => s.replace(/^DNS:|^IP Address:/, ""));
}

/**
 * Checks an uploaded chain (leaf first, then intermediates) and its key for a
 * site: the key matches, each certificate is signed by the next, every one is
 * valid now, and the leaf's names cover the site. Returns every problem found.
 */
export function validateUpload(input: { certificatePem: string; privateKeyPem: string; siteName: string; now?: Date }): { ok: true; value: ValidUpload } | { ok: false; problems: UploadProblem[] } {
  const now = input.now ?? new Date();
  const problems: UploadProblem[] = [];
  const blocks = input.certificatePem.match(PEM_CERT) ?? [];
  if (blocks.length === 0) return { ok: false, problems: [{ field: "certificate", message: "no PEM certificate found (expected -----BEGIN CERTIFICATE----- blocks, the site's certificate first)" }] };
  let certs: X509Certificate[];
  try {
    certs = blocks.map((b) => new X509Certificate(b));
  } catch (err) {
    return { ok: false, problems: [{ field: "certificate", message: `a certificate could not be read: ${(err as Error).message}` }] };
  }
  let key;
  try {
    key = createPrivateKey(input.privateKeyPem);
  } catch {
    problems.push({ field: "privateKey", message: "this is not a readable private key in PEM format (an encrypted key must be decrypted first)" });
  }
  const leaf = certs[0]!;
  if (key && !leaf.checkPrivateKey(key)) {
    const owner = certs.findIndex((c) => c.checkPrivateKey(key));
    if (owner > 0) problems.push({ field: "certificate", message: `the chain is out of order: the private key belongs to certificate ${owner + 1}, the site's certificate, which must come first` });
    else problems.push({ field: "privateKey", message: "the private key does not match the certificate (its public key is different)" });
  }
  if (leaf.ca) problems.push({ field: "certificate", message: "the first certificate is a CA certificate; put the site's own certificate first, then its intermediates" });
  // What OpenSSL 3 on the servers refuses to load (Debian's default security level), and a certificate not for servers.
  const bits = leaf.publicKey.asymmetricKeyDetails?.modulusLength;
  if (leaf.publicKey.asymmetricKeyType === "rsa" && bits !== undefined && bits < 2048)
    problems.push({ field: "certificate", message: `the certificate's RSA key has ${bits} bits; at least 2048 are needed` });
  certs.forEach((c, i) => {
    const hash = new x509.X509Certificate(c.raw).signatureAlgorithm.hash?.name ?? "";
    if (/^(SHA-1|MD5)$/i.test(hash))
      problems.push({
        field: "certificate",
        message: `${i === 0 ? "the site's certificate" : `certificate ${i + 1} in the chain`} is signed with ${hash}, which servers refuse; have it re-issued with SHA-256`,
      });
  });
  if (Array.isArray(leaf.keyUsage) && leaf.keyUsage.length > 0 && !leaf.keyUsage.includes("1.3.6.1.5.5.7.3.1") && !leaf.keyUsage.includes("2.5.29.37.0"))
    problems.push({ field: "certificate", message: "the certificate is not for TLS servers (its extended key usage lacks serverAuth)" });
  certs.forEach((c, i) => {
    const which = i === 0 ? "the site's certificate" : `certificate ${i + 1} in the chain`;
    if (new Date(c.validTo).getTime() <= now.getTime()) problems.push({ field: "certificate", message: `${which} expired on ${new Date(c.validTo).toISOString().slice(0, 10)}` });
    else if (new Date(c.validFrom).getTime() > now.getTime()) problems.push({ field: "certificate", message: `${which} is not valid until ${new Date(c.validFrom).toISOString().slice(0, 10)}` });
  });
  for (let i = 0; i + 1 < certs.length; i++) {
    const [child, parent] = [certs[i]!, certs[i + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      const issuerInChain = certs.findIndex((c) => child.checkIssued(c) && child.verify(c.publicKey));
      problems.push({
        field: "certificate",
        message:
          issuerInChain >= 0
            ? `the chain is out of order: certificate ${i + 1} is signed by certificate ${issuerInChain + 1}, which must come right after it`
            : `the chain is broken: certificate ${i + 1} is not signed by certificate ${i + 2} (${parent.subject.replace(/\n/g, ", ")})`,
      });
      break;
    }
  }
  if (!leaf.checkHost(input.siteName, { subject: "never" }))
    problems.push({ field: "certificate", message: `the certificate is for ${sanNames(leaf).join(", ") || "no DNS name"}, not ${input.siteName}` });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    value: {
      leafPem: blocks[0]!.trim() + "\n",
      chainPem: blocks
        .slice(1)
        .map((b) => b.trim() + "\n")
        .join(""),
      keyPem: key!.export({ type: "pkcs8", format: "pem" }).toString(),
      names: sanNames(leaf),
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
      fingerprint: leaf.fingerprint256,
      issuer: leaf.issuer.replace(/\n/g, ", "),
    },
  };
}
