// SSH key material: generate ed25519 pairs, import private keys (OpenSSH or PEM,
// with or without a passphrase), and fingerprints in OpenSSH's SHA256 form.
import { createHash } from "node:crypto";
import ssh2, { type ParsedKey } from "ssh2";

// ssh2 is CommonJS: take its members from the default export (named imports fail under Node ESM).
const { utils } = ssh2;

export class KeyImportError extends Error {
  override name = "KeyImportError";
  constructor(
    message: string,
    readonly field: "privateKey" | "passphrase",
  ) {
    super(message);
  }
}

/** SHA256:… of a public key blob (base64 of the wire format), as `ssh-keygen -lf` prints it. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** "ssh-ed25519 AAAA… comment" → { type, blob, fingerprint }. Throws on anything else. */
export function parsePublicKeyLine(line: string): { type: string; base64: string; blob: Buffer; fingerprint: string } {
  const [type, base64] = line.trim().split(/\s+/);
  if (!type || !base64 || !/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-[\w@.-]+)$/.test(type)) throw new Error("not an SSH public key");
  const blob = Buffer.from(base64, "base64");
  // The blob starts with its own type name: a cheap check that the base64 is what it claims.
  const nameLen = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (nameLen < 0 || blob.subarray(4, 4 + nameLen).toString() !== type) throw new Error("the key data does not match its type");
  return { type, base64, blob, fingerprint: fingerprintOfBlob(blob) };
}

export function generateEd25519(comment: string): { privateKey: string; publicKey: string; fingerprint: string } {
  // ssh2's generator writes, about once in 300 keys, a private key its own parser
  // refuses (seen generating 3,000 for the fleet benchmark): only a key that reads back is kept.
  for (let attempt = 1; ; attempt++) {
    const pair = utils.generateKeyPairSync("ed25519", { comment });
    const publicKey = pair.public.trim();
    const parsed = utils.parseKey(pair.private);
    if (!(parsed instanceof Error) && !Array.isArray(parsed) && parsed.getPublicSSH().toString("base64") === publicKey.split(/\s+/)[1]) {
      return { privateKey: pair.private, publicKey, fingerprint: parsePublicKeyLine(publicKey).fingerprint };
    }
    if (attempt >= 20) throw new Error("could not generate an Ed25519 key that reads back");
  }
}

/** Checks a private key (and its passphrase) and returns its public half. */
export function importPrivateKey(pem: string, passphrase: string | undefined, comment: string): { publicKey: string; fingerprint: string; type: string } {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) throw new KeyImportError("is not a private key in OpenSSH or PEM format (it should start with -----BEGIN … PRIVATE KEY-----)", "privateKey");
  let parsed: ParsedKey | Error;
  try {
    const r = utils.parseKey(pem, passphrase);
    parsed = Array.isArray(r) ? r[0]! : r;
  } catch (e) {
    parsed = e as Error;
  }
  if (parsed instanceof Error) {
    if (/passphrase/i.test(parsed.message) || /bad decrypt|decrypt/i.test(parsed.message))
      throw new KeyImportError(passphrase ? "is wrong for this key" : "is required: this key is encrypted", "passphrase");
    throw new KeyImportError(`could not be read: ${parsed.message}`, "privateKey");
  }
  if (!parsed.isPrivateKey()) throw new KeyImportError("is a public key; paste the private key", "privateKey");
  const blob = parsed.getPublicSSH();
  const line = `${parsed.type} ${blob.toString("base64")} ${comment}`.trim();
  return { publicKey: line, fingerprint: fingerprintOfBlob(blob), type: parsed.type };
}

/**
 * A known_hosts line ("host ssh-ed25519 AAAA…", "[host]:2222 …", hashed "|1|…" names)
 * → the key. The host part is not checked here: the operator pastes it for one server.
 */
export function parseKnownHostsLine(line: string): { type: string; base64: string; fingerprint: string } {
  const fields = line.trim().split(/\s+/);
  if (fields[0]?.startsWith("@")) throw new Error("markers such as @cert-authority or @revoked are not supported");
  if (fields.length < 3) throw new Error("expected “host key-type base64-key”, as in ~/.ssh/known_hosts or ssh-keyscan's output");
  const { type, base64, fingerprint } = parsePublicKeyLine(fields.slice(1).join(" "));
  return { type, base64, fingerprint };
}
