// A real Prometheus for tests, configured as `npm start` configures the embedded one
// (scripts/prometheus-config.mjs), its files in `dir` (DATA_DIR/prometheus).
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { prometheusConfig } from "@/scripts/prometheus-config.mjs";
import { freePort } from "./redis-server";
import { waitUntil } from "./processes";

export interface TestPrometheus {
  url: string;
  output: () => string;
  /** An instant PromQL query's result vector. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  targets(): Promise<Array<{ labels: Record<string, string>; health: string; lastError: string }>>;
  stop(): Promise<void>;
}

export async function startPrometheus(dir: string, opts: { scrapeInterval?: string } = {}): Promise<TestPrometheus> {
  for (const d of ["data", "targets", "rules", "tls"]) mkdirSync(path.join(dir, d), { recursive: true });
  const config = path.join(dir, "prometheus.yml");
  writeFileSync(config, prometheusConfig({ dir, scrapeInterval: opts.scrapeInterval ?? "2s" }));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn("prometheus", [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--web.enable-lifecycle"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  await waitUntil(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok, 30_000, `Prometheus on ${url}\n${out}`);
  const api = async (p: string) => {
    const res = await fetch(`${url}${p}`);
    const body = (await res.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== "success") throw new Error(`Prometheus ${p}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    output: () => out,
    query: async (promql) => ((await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as { result: Array<{ metric: Record<string, string>; value: [number, string] }> }).result,
    targets: async () => ((await api("/api/v1/targets?state=active")) as { activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> }).activeTargets,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
