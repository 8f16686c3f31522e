// The master key: RAMPART_MASTER_KEY (base64, 32 bytes) or the file
// $DATA_DIR/master.key, created with mode 0600 on first start. Losing it makes
// every stored secret unreadable: back it up (see the README).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SecretBox } from "./envelope";

export function masterKeyPath(dataDir: string): string {
  return path.join(dataDir, "master.key");
}

function decode(b64: string, where: string): Buffer {
  const key = Buffer.from(b64.trim(), "base64");
  if (key.length !== 32) throw new Error(`${where} must be 32 random bytes in base64 (openssl rand -base64 32); got ${key.length} bytes`);
  return key;
}

/** Reads the master key, creating the key file if neither it nor RAMPART_MASTER_KEY exists. */
export function loadMasterKey(opts: { envKey?: string; dataDir: string; create: boolean }): Buffer {
  if (opts.envKey) return decode(opts.envKey, "RAMPART_MASTER_KEY");
  const file = masterKeyPath(opts.dataDir);
  if (!existsSync(file)) {
    if (!opts.create) throw new Error(`no master key: ${file} is missing and RAMPART_MASTER_KEY is not set`);
    writeFileSync(file, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  }
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) throw new Error(`${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 ${file}`);
  return decode(readFileSync(file, "utf8"), file);
}

const g = globalThis as unknown as { rampartSecretBox?: SecretBox };

/** The process's SecretBox (the key file must exist: the start command creates it). */
export function secretBox(env: { RAMPART_MASTER_KEY?: string; DATA_DIR: string }): SecretBox {
  g.rampartSecretBox ??= new SecretBox(loadMasterKey({ envKey: env.RAMPART_MASTER_KEY, dataDir: env.DATA_DIR, create: false }));
  return g.rampartSecretBox;
}
