// SSH keys: generated or imported by admins. The private half is encrypted at rest
// and is only ever decrypted by the worker, for the executor.
import type { Db } from "../db";
import type { SecretBox } from "../secrets/envelope";
import { generateEd25519, importPrivateKey, KeyImportError } from "../exec/keys";
import { shellQuote } from "../provision/command";
import { ServiceError } from "./errors";

type KeyRow = Awaited<ReturnType<Db["sshKey"]["findUniqueOrThrow"]>> & { _count: { servers: number } };

export const keyContext = (id: string) => `ssh-key:${id}`;
export const passphraseContext = (id: string) => `ssh-key-passphrase:${id}`;

export function installCommand(publicKey: string): string {
  return `mkdir -p ~/.ssh && chmod 700 ~/.ssh && echo ${shellQuote(publicKey)} >> ~/.ssh/authorized_keys && chmod 600 ~/.ssh/authorized_keys`;
}

function toDto(k: KeyRow) {
  return {
    id: k.id,
    name: k.name,
    type: k.type,
    publicKey: k.publicKey,
    fingerprint: k.fingerprint,
    hasPassphrase: k.passphraseEnc !== null,
    createdAt: k.createdAt,
    createdBy: k.createdBy,
    servers: k._count.servers,
    installCommand: installCommand(k.publicKey),
  };
}

const withCount = { _count: { select: { servers: true } } } as const;

export async function listKeys(db: Db) {
  return (await db.sshKey.findMany({ orderBy: { createdAt: "asc" }, include: withCount })).map(toDto);
}

async function assertFreeName(db: Db, name: string) {
  if (await db.sshKey.findUnique({ where: { name } })) throw new ServiceError("CONFLICT", `An SSH key named ${name} already exists`, "name");
}

export async function generateKey(db: Db, box: SecretBox, who: string, input: { name: string }) {
  await assertFreeName(db, input.name);
  const pair = generateEd25519(`rampart:${input.name}`);
  // The id is needed to bind the ciphertext to its row: create, then store the key.
  const row = await db.sshKey.create({ data: { name: input.name, type: "ssh-ed25519", publicKey: pair.publicKey, fingerprint: pair.fingerprint, privateKeyEnc: "", createdBy: who } });
  const updated = await db.sshKey.update({ where: { id: row.id }, data: { privateKeyEnc: box.encrypt(pair.privateKey, keyContext(row.id)) }, include: withCount });
  return toDto(updated);
}

export async function importKey(db: Db, box: SecretBox, who: string, input: { name: string; privateKey: string; passphrase?: string }) {
  await assertFreeName(db, input.name);
  let parsed;
  try {
    parsed = importPrivateKey(input.privateKey.trim() + "\n", input.passphrase || undefined, `rampart:${input.name}`);
  } catch (e) {
    if (e instanceof KeyImportError) throw new ServiceError("BAD_REQUEST", `The ${e.field === "passphrase" ? "passphrase" : "private key"} ${e.message}`, e.field);
    throw e;
  }
  const row = await db.sshKey.create({ data: { name: input.name, type: parsed.type, publicKey: parsed.publicKey, fingerprint: parsed.fingerprint, privateKeyEnc: "", createdBy: who } });
  const updated = await db.sshKey.update({
    where: { id: row.id },
    data: {
      privateKeyEnc: box.encrypt(input.privateKey.trim() + "\n", keyContext(row.id)),
      passphraseEnc: input.passphrase ? box.encrypt(input.passphrase, passphraseContext(row.id)) : null,
    },
    include: withCount,
  });
  return toDto(updated);
}

export async function deleteKey(db: Db, id: string) {
  const key = await db.sshKey.findUnique({ where: { id }, include: withCount });
  if (!key) throw new ServiceError("NOT_FOUND", `No SSH key with id ${id}`, "id");
  if (key._count.servers > 0) throw new ServiceError("CONFLICT", `${key.name} is used by ${key._count.servers} server(s): give them another key first`);
  await db.sshKey.delete({ where: { id } });
  return toDto(key);
}
