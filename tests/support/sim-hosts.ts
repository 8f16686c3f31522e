// Simulated SSH hosts for integration tests (bench/fleet-sim, bundled to
// dist/fleet-sim.mjs by scripts/build-node.sh): real SSH servers on loopback
// addresses that answer Rampart's observation, steps, uploads and checks as a fresh
// Debian host would, registered as servers with pinned host keys. Each command takes
// `latencyMs` longer, so an apply lasts long enough to interrupt.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import ssh2 from "ssh2";
import type { Db } from "@/server/db";
import { generateEd25519, parsePublicKeyLine } from "@/server/exec/keys";
import type { SecretBox } from "@/server/secrets/envelope";
import { importKey } from "@/server/services/ssh-keys";
import type { SimConfig } from "@/bench/fleet-sim/main";
import { requireBuild } from "./processes";

const SIM_PORT = 2222;

export interface SimHosts {
  servers: Array<{ id: string; name: string; address: string }>;
  stop(): Promise<void>;
}

/** Starts `count` simulated hosts on 127.<net>.0.<10+i> and registers them (pinned keys, one SSH key). */
export async function startSimHosts(db: Db, box: SecretBox, opts: { count: number; net: number; latencyMs: number; prefix: string }): Promise<SimHosts> {
  requireBuild();
  const client = generateEd25519("rampart-test-sim");
  const hosts = Array.from({ length: opts.count }, (_, i) => {
    let key: ReturnType<typeof ssh2.utils.generateKeyPairSync>;
    do key = ssh2.utils.generateKeyPairSync("ed25519");
    while (ssh2.utils.parseKey(key.private) instanceof Error);
    return { name: `${opts.prefix}${i + 1}`, address: `127.${opts.net}.0.${10 + i}`, hostKey: key.private, publicKey: key.public.trim() };
  });
  const cfgPath = path.join(mkdtempSync(path.join(os.tmpdir(), "rampart-sim-")), "sim.json");
  const cfg: SimConfig = { port: SIM_PORT, authorizedKey: client.publicKey, latencyMs: opts.latencyMs, hosts: hosts.map(({ name, address, hostKey }) => ({ name, address, hostKey })) };
  writeFileSync(cfgPath, JSON.stringify(cfg), { mode: 0o600 });
  const child = spawn(process.execPath, ["dist/fleet-sim.mjs", cfgPath], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the simulated hosts exited with ${code} before they were ready`)));
    child.on("message", (m: { type?: string }) => m.type === "ready" && resolve());
  });
  const key = await importKey(db, box, "test", { name: `${opts.prefix}key`, privateKey: client.privateKey });
  const servers = [];
  for (const h of hosts) {
    const k = parsePublicKeyLine(h.publicKey);
    const row = await db.server.create({
      data: { name: h.name, address: h.address, port: SIM_PORT, user: "root", sshKeyId: key.id, hostKey: `${k.type} ${k.base64}`, hostKeyFingerprint: k.fingerprint, hostKeyStatus: "pinned" },
    });
    servers.push({ id: row.id, name: row.name, address: row.address });
  }
  return {
    servers,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
