// Secrets Rampart generates for a topology (the database's passwords): made once,
// kept encrypted with the master key, read by the worker when it builds a plan.
import { randomBytes } from "node:crypto";
import type { Db } from "../db";
import type { SecretBox } from "../secrets/envelope";
import { Secret } from "../secrets/secret";
import type { DatabaseSpec } from "../provision/roles/types";

const context = (topologyId: string, name: string) => `topology-secret:${topologyId}:${name}`;

/** 32 letters and digits (≈190 bits): safe in a URL, an environment file and SQL alike. */
export function generatePassword(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let out = "";
  // 62 does not divide 256: bytes past the last multiple are skipped (no bias).
  while (out.length < 32) for (const b of randomBytes(48)) if (b < 248 && out.length < 32) out += alphabet[b % 62];
  return out;
}

/**
 * The topology's secret `name`, made on first use. A plan (store false) that finds none
 * uses a throwaway value; the apply stores one (the first writer wins a race).
 */
export async function topologySecret(db: Db, box: SecretBox, topologyId: string, name: string, store: boolean): Promise<Secret> {
  const found = await db.topologySecret.findUnique({ where: { topologyId_name: { topologyId, name } } });
  if (found) return box.decrypt(found.valueEnc, context(topologyId, name));
  const value = generatePassword();
  if (!store) return new Secret(value);
  try {
    await db.topologySecret.create({ data: { topologyId, name, valueEnc: box.encrypt(value, context(topologyId, name)) } });
    return new Secret(value);
  } catch (err) {
    const again = await db.topologySecret.findUnique({ where: { topologyId_name: { topologyId, name } } });
    if (again) return box.decrypt(again.valueEnc, context(topologyId, name));
    throw err;
  }
}

/** The database's credentials, when the topology has database servers. */
export async function databaseCredentials(
  db: Db,
  box: SecretBox,
  topologyId: string,
  hosts: ReadonlyArray<{ serverId: string; roles: readonly string[] }>,
  store: boolean,
): Promise<DatabaseSpec | null> {
  if (!hosts.some((h) => h.roles.includes("db-primary") || h.roles.includes("db-replica"))) return null;
  const replPasswords = new Map<string, Secret>();
  for (const h of hosts.filter((x) => x.roles.includes("db-replica") || x.roles.includes("db-primary")))
    // Every database server has one: a primary becomes a replica after a promotion.
    replPasswords.set(h.serverId, await topologySecret(db, box, topologyId, `mysql-repl:${h.serverId}`, store));
  return {
    appPassword: await topologySecret(db, box, topologyId, "mysql-app", store),
    monitorPassword: await topologySecret(db, box, topologyId, "mysql-monitor", store),
    replPasswords,
  };
}
