// A console's share of a run, in a process of its own: follows one run's event
// stream the way the console's SSE route does (one Redis subscriber, EventHub,
// followRun: the database fills what pub/sub missed) and prints, at the end, one
// JSON line: events seen, how far behind the worker it fell, its memory.
// Started by bench/fleet.ts before the run exists (node dist/bench-fleet-follow.mjs,
// with DATABASE_URL and REDIS_URL in the environment): it prints "ready" once
// connected, then reads the run's id on stdin, as a browser opening the run would.
import { readFileSync } from "node:fs";
import { createDb } from "@/server/db";
import { createRedis } from "@/server/queue/redis";
import { EventHub, followRun } from "@/server/queue/run-follow";

const status = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);

async function main() {
  const db = await createDb(process.env.DATABASE_URL!, { poolSize: 2 });
  const sub = createRedis(process.env.REDIS_URL!, "subscriber");
  await new Promise((resolve) => sub.once("ready", resolve));
  const hub = new EventHub(sub);
  console.log("ready");
  const runId = await new Promise<string>((resolve) => {
    let input = "";
    process.stdin.on("data", (d) => {
      input += d;
      if (input.includes("\n")) resolve(input.slice(0, input.indexOf("\n")).trim());
    });
  });
  let events = 0;
  let maxLagMs = 0;
  let lagSum = 0;
  let lastSeq = 0;
  let gaps = 0;
  for await (const e of followRun({ db, hub, runId, afterSeq: 0 })) {
    events++;
    if (e.seq !== lastSeq + 1) gaps++;
    lastSeq = e.seq;
    const lag = Date.now() - e.time.getTime();
    lagSum += lag;
    if (lag > maxLagMs) maxLagMs = lag;
  }
  console.log(JSON.stringify({ events, gaps, maxLagMs, meanLagMs: events ? Math.round(lagSum / events) : 0, hwmKb: status("VmHWM"), rssKb: status("VmRSS") }));
  sub.disconnect();
  await db.$disconnect();
  process.exit(0);
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
