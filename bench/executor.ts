// SSH executor benchmark (issue 5), against the lab's hosts. Prints, per host:
// commands per second (300 `true` commands, as many in flight as the pool allows)
// and the latency of one trivial command on a warm connection (p50/p95 of 200).
// Run: bash bench/executor.sh (needs root: it brings the lab up).
import { readFileSync } from "node:fs";
import { ensureLab } from "@/e2e/lab/fixture";
import { SshExecutor, type Target } from "@/server/exec/ssh-executor";
import { Secret } from "@/server/secrets/secret";

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main() {
  const lab = await ensureLab(3);
  const key = new Secret(readFileSync(lab.sshKey, "utf8"));
  const targets: Target[] = lab.hosts.map((h) => ({ name: h.name, address: h.address, port: h.port, user: "root", privateKey: key, hostKey: h.hostKey }));
  const ex = new SshExecutor();

  const t0 = performance.now();
  await Promise.all(targets.map((t) => ex.run(t, { argv: ["true"] })));
  const connectMs = performance.now() - t0;

  console.log(`\nRampart SSH executor benchmark (${new Date().toISOString()})`);
  console.log(`  first command on ${targets.length} hosts (connect + handshake + auth), in parallel: ${connectMs.toFixed(0)} ms`);
  for (const t of targets) {
    const lat: number[] = [];
    for (let i = 0; i < 200; i++) {
      const s = performance.now();
      await ex.run(t, { argv: ["true"] });
      lat.push(performance.now() - s);
    }
    lat.sort((a, b) => a - b);
    const n = 300;
    const s = performance.now();
    await Promise.all(Array.from({ length: n }, () => ex.run(t, { argv: ["true"] })));
    const rate = n / ((performance.now() - s) / 1000);
    console.log(`  ${t.name}: ${rate.toFixed(0)} commands/s; warm latency p50 ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms`);
  }
  const n = 300;
  const s = performance.now();
  await Promise.all(targets.flatMap((t) => Array.from({ length: n }, () => ex.run(t, { argv: ["true"] }))));
  console.log(`  all ${targets.length} hosts at once: ${((3 * n) / ((performance.now() - s) / 1000)).toFixed(0)} commands/s in total`);
  console.log(`  connections opened: ${ex.stats.connectionsOpened} (one per host), channels: ${ex.stats.channelsOpened}`);
  await ex.close();
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
