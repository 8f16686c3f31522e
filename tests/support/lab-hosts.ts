// Lab hosts for the engine's tests and benchmarks: registered in a Rampart
// database with their host keys pinned (from lab.json), and made fresh.
import { readFileSync } from "node:fs";
import { labSsh, type LabHost, type LabInfo } from "@/e2e/lab/fixture";
import type { Db } from "@/server/db";
import type { SecretBox } from "@/server/secrets/envelope";
import { importKey } from "@/server/services/ssh-keys";
import { createServer, pinKnownHostKey } from "@/server/services/servers";
import { FRESH_HOST_COMMAND } from "./fresh-host";

/** Adds the lab's key and these hosts as servers with pinned host keys, resets them, and returns the server ids in order. */
export async function registerFreshLabHosts(db: Db, box: SecretBox, lab: LabInfo, hosts: LabHost[]): Promise<string[]> {
  const key = await importKey(db, box, "admin@example.test", { name: "lab", privateKey: readFileSync(lab.sshKey, "utf8") });
  const ids: string[] = [];
  for (const h of hosts) {
    const s = await createServer(db, { name: h.name, address: h.address, port: h.port, user: "root", sshKeyId: key.id, labels: [] });
    await pinKnownHostKey(db, { id: s.id, knownHostsLine: `${h.address} ${h.hostKey}` }, true);
    ids.push(s.id);
  }
  for (const h of hosts) await labSsh(h.name, FRESH_HOST_COMMAND);
  return ids;
}
