// A simulator process: serves its share of the fleet's hosts (each on its own
// loopback address) until SIGTERM or until its parent goes away. Started by
// bench/fleet.ts with an IPC channel: it sends { type: "ready" } once every host
// listens, and answers { type: "stats" } with what its hosts were asked (counts,
// and the commands it did not know).
import { readFileSync } from "node:fs";
import { newTally } from "./host";
import { newStats, startSimHost, type SimHostSpec } from "./server";

export interface SimConfig {
  port: number;
  authorizedKey: string;
  /** Added before each command's answer (a real host takes ~30 ms to fork a shell and run a command). */
  latencyMs: number;
  hosts: SimHostSpec[];
}

export interface SimReport {
  type: "stats";
  stats: ReturnType<typeof newStats>;
  commands: Record<string, number>;
  unknown: Record<string, { count: number; example: string }>;
}

async function main() {
  const cfg = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as SimConfig;
  const tally = newTally();
  const stats = newStats();
  const started: Array<{ close: () => void }> = [];
  // A few at a time: 1,000 listeners at once is fine, but the host-key parsing is not free.
  for (let i = 0; i < cfg.hosts.length; i += 50)
    started.push(...(await Promise.all(cfg.hosts.slice(i, i + 50).map((h) => startSimHost(h, { port: cfg.port, authorizedKey: cfg.authorizedKey, latencyMs: cfg.latencyMs, tally, stats })))));
  process.on("message", (m: { type?: string }) => {
    if (m?.type === "stats") {
      const report: SimReport = { type: "stats", stats, commands: Object.fromEntries(tally.commands), unknown: Object.fromEntries(tally.unknown) };
      process.send?.(report);
    }
  });
  const stop = () => {
    for (const s of started) s.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("disconnect", stop);
  process.send?.({ type: "ready", hosts: started.length });
}

void main().catch((e) => {
  console.error(`fleet-sim: ${e instanceof Error ? e.stack : String(e)}`);
  process.exit(1);
});
