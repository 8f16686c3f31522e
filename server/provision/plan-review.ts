// "Apply this plan": an apply started from a plan the operator reviewed changes only what
// that plan showed. The apply plans again under its locks (it must: the hosts are the
// truth) and compares: every step it would take must be one the reviewed plan showed, on
// the same host, with the same change. A step the reviewed plan did not show — a file
// edited by hand since, a package removed, the topology edited — refuses the whole apply
// with the reason, before anything changes. Steps that are gone (done by a run that was
// interrupted and resumed, or undone by hand) are fine: what remains was reviewed.
// Pure: the comparison; the worker applies or refuses.
import type { PlanDto, PlanStepDto } from "../schemas/topology";

/**
 * A step as the operator reviewed it: what it changes and how. Certificates and keys
 * are compared as "replaced", not by content: a plan makes a fresh one that the apply
 * makes again (the same step, another serial). The commands are not compared either:
 * they carry generated values (password hashes) that differ from one plan to the next.
 */
export function stepSignature(s: Pick<PlanStepDto, "resource" | "action" | "diff">): string {
  const diff = (s.diff ?? "").replace(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g, "<$1>");
  return `${s.resource}\u0000${s.action}\u0000${diff}`;
}

export interface StaleStep {
  host: string;
  resource: string;
  action: string;
  /** The reviewed plan had this resource with another change (it was edited since), or not at all. */
  why: "changed" | "new";
}

/** The steps `now` would take that `reviewed` did not show, per host (hosts `now` could not plan are left out: an apply skips them). */
export function unreviewedSteps(reviewed: PlanDto, now: PlanDto): StaleStep[] {
  const out: StaleStep[] = [];
  for (const h of now.hosts) {
    if (h.error) continue;
    const before = reviewed.hosts.find((r) => r.serverId === h.serverId);
    const seen = new Set((before?.steps ?? []).map(stepSignature));
    const resources = new Set((before?.steps ?? []).map((s) => s.resource));
    for (const s of h.steps) if (!seen.has(stepSignature(s))) out.push({ host: h.name, resource: s.resource, action: s.action, why: resources.has(s.resource) ? "changed" : "new" });
  }
  return out;
}

/** Why an apply of a reviewed plan is refused, in one line: the first few differences. */
export function staleText(stale: StaleStep[], reviewedAt: Date): string {
  const shown = stale.slice(0, 4).map((s) => `${s.host}: ${s.action} ${s.resource} ${s.why === "changed" ? "differs from the reviewed change (changed since)" : "was not in the plan"}`);
  const more = stale.length > shown.length ? `; and ${stale.length - shown.length} more` : "";
  return `nothing was changed: the hosts changed since the plan you reviewed (computed ${reviewedAt.toISOString()}) — ${shown.join("; ")}${more}. Plan again, review, then apply that plan`;
}
