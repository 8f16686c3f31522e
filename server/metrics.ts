// Rampart's own metrics, in Prometheus's text format at GET /metrics (a token or a
// session with read access): API latency per procedure, how long a live run event
// takes from the worker to a browser, runs by kind and status, the job queue's
// depth, and each worker's SSH pool and active runs (from its presence in Redis).
// Counted in the web process; what lives elsewhere is read at scrape time.
// This module only counts (the web process's entry points call it); what is read
// at scrape time is registered by server/services/metrics.ts.
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function build() {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: "rampart_web_" });
  const api = new Histogram({
    name: "rampart_api_request_duration_seconds",
    help: "Time to answer an API request (tRPC or REST), by procedure or route and HTTP status",
    labelNames: ["api", "route", "code"] as const,
    buckets: SECONDS,
    registers,
  });
  const eventDelivery = new Histogram({
    name: "rampart_run_event_delivery_seconds",
    help: "From a run event's time (stamped by the worker) to its delivery to a live follower here",
    buckets: SECONDS,
    registers,
  });
  return { registry, api, eventDelivery };
}

const g = globalThis as unknown as { rampartMetrics?: ReturnType<typeof build> };
export const metrics = () => (g.rampartMetrics ??= build());

/** A REST path without its ids (/runs/:id/events), so that routes stay a small set of labels. */
export function routeOf(pathname: string): string {
  return pathname
    .split("/")
    .map((seg) => (seg.length >= 8 && /\d/.test(seg) ? ":id" : seg))
    .join("/");
}

/** Records an API answer; a stream (a live run, events as they come) is not a latency. */
export function observeApi(api: "trpc" | "rest", url: URL, res: Response, startedMs: number): void {
  if (res.headers.get("content-type")?.includes("text/event-stream")) return;
  const route = api === "trpc" ? url.pathname.replace(/^\/api\/trpc\//, "") : `${routeOf(url.pathname.replace(/^\/api\/v1/, ""))}`;
  // A tRPC batch names several procedures: one label for all batches keeps the set small.
  metrics().api.observe({ api, route: route.includes(",") ? "(batch)" : route, code: String(res.status) }, (performance.now() - startedMs) / 1000);
}

export function observeEventDelivery(eventTime: Date): void {
  metrics().eventDelivery.observe(Math.max(0, Date.now() - eventTime.getTime()) / 1000);
}
