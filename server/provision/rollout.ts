// How an apply rolls out, decided purely: which hosts are skipped (could not be
// planned, or depend on one that could not), and the batches within a tier.
import type { Plan } from "./planner";
import { dependencies, type TopologySpec } from "./roles";

/** Hosts that cannot be converged, with the reason: those that could not be planned, and those that depend on one. */
export function skippedHosts(spec: TopologySpec, plan: Plan): Map<string, string> {
  const skipped = new Map<string, string>();
  for (const h of plan.hosts) if (h.error) skipped.set(h.serverId, h.unreachable ? `unreachable: ${h.error}` : `cannot plan: ${h.error}`);
  for (let grew = true; grew;) {
    grew = false;
    for (const h of spec.hosts) {
      if (skipped.has(h.serverId)) continue;
      const dep = dependencies(spec, h).find((id) => skipped.has(id));
      if (dep) {
        skipped.set(h.serverId, `depends on ${spec.hosts.find((x) => x.serverId === dep)?.name ?? dep}, which is skipped`);
        grew = true;
      }
    }
  }
  return skipped;
}

/** One host first (a canary), then batches of `size`. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const n = Math.max(1, Math.floor(size));
  const out: T[][] = items.length > 0 ? [items.slice(0, 1)] : [];
  for (let i = 1; i < items.length; i += n) out.push(items.slice(i, i + n));
  return out;
}
