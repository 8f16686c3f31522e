// The demo: registers the test lab's hosts in this Rampart. Imports the lab's SSH
// key as "lab" and adds lab1…labN with their host keys pinned from lab.json (the
// lab made those keys, so they are known in advance, like a known_hosts file).
// Run through scripts/demo-lab.sh (npm run demo:lab).
import { existsSync, readFileSync } from "node:fs";
import { ConfigError, loadEnv } from "@/server/env";
import { checkDatabase } from "@/server/preflight";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { importKey, listKeys } from "@/server/services/ssh-keys";
import { createServer, listServers, pinKnownHostKey } from "@/server/services/servers";
import { recordAudit, SYSTEM_ACTOR } from "@/server/auth/audit";

interface LabJson {
  sshKey: string;
  hosts: Array<{ name: string; address: string; port: number; hostKey: string }>;
}

async function main() {
  const env = loadEnv();
  const labFile = `${process.env.LAB_STATE_DIR || "/run/rampart-lab"}/lab.json`;
  if (!existsSync(labFile)) throw new Error(`${labFile} not found: bring the lab up first (npm run lab -- up)`);
  const lab = JSON.parse(readFileSync(labFile, "utf8")) as LabJson;
  const db = await checkDatabase(env.DATABASE_URL);
  const box = new SecretBox(loadMasterKey({ envKey: env.RAMPART_MASTER_KEY, dataDir: env.DATA_DIR, create: false }));

  let key = (await listKeys(db)).find((k) => k.name === "lab");
  if (!key) key = await importKey(db, box, "demo seed", { name: "lab", privateKey: readFileSync(lab.sshKey, "utf8") });
  const existing = new Set((await listServers(db)).map((s) => s.name));
  const added: string[] = [];
  for (const h of lab.hosts) {
    if (existing.has(h.name)) continue;
    const s = await createServer(db, { name: h.name, address: h.address, port: h.port, user: "root", sshKeyId: key.id, labels: ["lab"] });
    await pinKnownHostKey(db, { id: s.id, knownHostsLine: `${h.address} ${h.hostKey}` }, true);
    added.push(h.name);
  }
  await recordAudit(db, { actor: SYSTEM_ACTOR, action: "demo.seedLab", target: added.join(", ") || null, outcome: "ok", detail: { labFile } });
  await db.$disconnect();
  process.stdout.write(
    added.length ? `Registered ${added.join(", ")} with the key "lab" and their host keys pinned. Open Servers and press "Check all".\n` : "The lab's hosts are already registered.\n",
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`rampart demo: ${err instanceof ConfigError || err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
