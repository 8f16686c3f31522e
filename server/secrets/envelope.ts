// Encryption at rest for every secret Rampart keeps (SSH private keys and their
// passphrases now; MySQL passwords, CA keys and ACME account keys later).
// Envelope encryption with AES-256-GCM: each secret gets its own random data key,
// which is itself encrypted ("wrapped") with the master key. The secret's context
// (e.g. "ssh-key:<id>") is bound as additional authenticated data, so a ciphertext
// moved to another row does not decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Secret } from "./secret";

const VERSION = "v1";

function seal(key: Buffer, plaintext: Buffer, aad: string): string[] {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [iv, cipher.getAuthTag(), ct].map((b) => b.toString("base64url"));
}

function open(key: Buffer, [iv, tag, ct]: string[], aad: string): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv!, "base64url"), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag!, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ct!, "base64url")), decipher.final()]);
}

export class SecretBox {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error("the master key must be 32 bytes");
  }

  /** Encrypts a secret for storage. `context` names what it is and which row it belongs to. */
  encrypt(plaintext: string | Secret, context: string): string {
    const value = plaintext instanceof Secret ? plaintext.reveal() : plaintext;
    const dataKey = randomBytes(32);
    const wrapped = seal(this.masterKey, dataKey, `rampart-data-key:${context}`);
    const body = seal(dataKey, Buffer.from(value, "utf8"), context);
    dataKey.fill(0);
    return [VERSION, ...wrapped, ...body].join(".");
  }

  decrypt(stored: string, context: string): Secret {
    const parts = stored.split(".");
    if (parts[0] !== VERSION || parts.length !== 7) throw new Error("not a Rampart secret (unknown format)");
    let dataKey: Buffer;
    try {
      dataKey = open(this.masterKey, parts.slice(1, 4), `rampart-data-key:${context}`);
    } catch {
      throw new Error("cannot decrypt a secret: wrong master key, or the secret belongs to another record");
    }
    try {
      return new Secret(open(dataKey, parts.slice(4, 7), context).toString("utf8"));
    } finally {
      dataKey.fill(0);
    }
  }
}
