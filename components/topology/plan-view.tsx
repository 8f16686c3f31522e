// A plan as Rampart computed it, readable at 45 changes or 4,500: first the counts (per
// action, per tier, per host), then the steps that are the same on several hosts, once,
// with their hosts, then each host with its own steps in the order they will run, why
// each is needed, the exact commands, and for files the diff (collapsed, with its size;
// rendered only when opened). Certificates read as "replaced (fingerprint → fingerprint)".
// Everything is rendered as text (React escapes it): a config file's content is never HTML.
import { useState } from "react";
import { ChevronRight } from "lucide-react";
import { ROLE_LABELS, TIERS, type HostPlanDto, type PlanDto, type PlanStepDto } from "@/server/schemas/topology";
import { Badge, type Tone } from "../ui/badge";
import { cn } from "../ui/cn";
import { formatTime } from "../runs/time";
import { ReachabilityMatrix } from "../firewall/reachability-matrix";

const ACTION_TONES: Record<string, Tone> = {
  install: "success",
  create: "success",
  enable: "info",
  start: "info",
  update: "warning",
  reload: "info",
  restart: "warning",
  remove: "danger",
  stop: "danger",
};

const OUTCOMES: Record<NonNullable<HostPlanDto["outcome"]>, { label: string; tone: Tone }> = {
  converged: { label: "converged", tone: "success" },
  failed: { label: "failed", tone: "danger" },
  skipped: { label: "skipped", tone: "warning" },
  "not-started": { label: "not started", tone: "neutral" },
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function planSummary(plan: Pick<PlanDto, "changes" | "hosts">): string {
  if (plan.changes === 0) return "No changes";
  const hosts = plan.hosts.filter((h) => h.steps.length > 0).length;
  return `${plural(plan.changes, "change")} on ${plural(hosts, "host")}`;
}

/** Identical steps (same tier, resource, action, summary and diff): one entry per step with every host that takes it. */
function groupSteps(plan: PlanDto): Array<{ key: string; step: PlanStepDto; hosts: string[] }> {
  const groups = new Map<string, { key: string; step: PlanStepDto; hosts: string[] }>();
  for (const h of plan.hosts)
    for (const st of h.steps) {
      const key = stepKey(st);
      const g = groups.get(key);
      if (g) g.hosts.push(h.name);
      else groups.set(key, { key, step: st, hosts: [h.name] });
    }
  return [...groups.values()];
}

const stepKey = (st: PlanStepDto) => [st.tier, st.resource, st.action, st.summary, st.diff ?? ""].join("\u0000");

export function PlanView({ plan }: { plan: PlanDto }) {
  const shared = groupSteps(plan).filter((g) => g.hosts.length > 1);
  const sharedKeys = new Set(shared.map((g) => g.key));
  const failed = plan.hosts.filter((h) => h.error);
  const failingChecks = plan.hosts.reduce((n, h) => n + h.checks.filter((c) => !c.ok).length, 0);
  return (
    <div className="space-y-4" data-testid="plan-view">
      <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
        <p data-testid="plan-summary" className={cn("text-sm font-semibold", plan.changes === 0 ? "text-emerald-700" : "text-slate-900")}>
          {planSummary(plan)}
        </p>
        {failed.length > 0 ? (
          <p className="text-sm font-medium text-rose-700">
            {plural(failed.length, "host")} could not be planned{failed.some((h) => h.unreachable) ? ` (${failed.filter((h) => h.unreachable).length} unreachable)` : ""}: nothing is planned there
          </p>
        ) : null}
        {failingChecks > 0 ? (
          <p data-testid="plan-failing-checks" className="text-sm font-medium text-rose-700">
            {plural(failingChecks, "check")} failed
          </p>
        ) : null}
        <p className="text-xs text-slate-500">Observed {formatTime(plan.observedAt)}</p>
      </div>
      {plan.changes > 0 ? <PlanCounts plan={plan} /> : null}
      {shared.length > 0 ? (
        <section aria-label="Steps on several hosts" className="rounded-md border border-slate-200" data-testid="shared-steps">
          <header className="border-b border-slate-100 bg-slate-50 px-3 py-2 text-sm font-semibold text-slate-900">
            The same on several hosts <span className="font-normal text-slate-500">· {plural(shared.length, "step")}, each shown once</span>
          </header>
          <ol className="divide-y divide-slate-100">
            {shared.map((g) => (
              <Step key={g.key} step={g.step} hosts={g.hosts} />
            ))}
          </ol>
        </section>
      ) : null}
      <div className="space-y-3">
        {plan.hosts.map((h) => (
          <HostPlan key={h.serverId} host={h} sharedKeys={sharedKeys} />
        ))}
      </div>
      {plan.reachability ? (
        <details open={plan.reachability.mismatches > 0} className="group rounded-md border border-slate-200 px-3 py-2" data-testid="plan-reachability">
          <summary className="flex cursor-pointer list-none items-center gap-1 text-sm font-medium text-slate-700 hover:text-slate-900">
            <ChevronRight size={14} className="transition-transform group-open:rotate-90" aria-hidden />
            Reachability{" "}
            {plan.reachability.mismatches > 0 ? (
              <span className="text-rose-700">({plural(plan.reachability.mismatches, "mismatch", "mismatches")})</span>
            ) : (
              <span className="text-emerald-700">(as intended)</span>
            )}
          </summary>
          <div className="mt-2">
            <ReachabilityMatrix reachability={plan.reachability} />
          </div>
        </details>
      ) : null}
    </div>
  );
}

/** How many of each action, per tier, per host: what the plan does, before its detail. */
function PlanCounts({ plan }: { plan: PlanDto }) {
  const steps = plan.hosts.flatMap((h) => h.steps);
  const count = (key: (st: PlanStepDto) => string) => {
    const m = new Map<string, number>();
    for (const st of steps) m.set(key(st), (m.get(key(st)) ?? 0) + 1);
    return m;
  };
  const actions = [...count((st) => st.action)].sort((a, b) => b[1] - a[1]);
  const tiers = count((st) => st.tier);
  const hosts = plan.hosts.filter((h) => h.steps.length > 0);
  return (
    <dl className="grid gap-x-6 gap-y-2 rounded-md border border-slate-200 px-3 py-2 text-xs sm:grid-cols-[auto_1fr]" data-testid="plan-counts-table">
      <dt className="font-medium text-slate-500">By action</dt>
      <dd className="flex flex-wrap gap-1.5" data-testid="plan-counts-actions">
        {actions.map(([a, n]) => (
          <Badge key={a} tone={ACTION_TONES[a] ?? "neutral"}>
            {a} {n}
          </Badge>
        ))}
      </dd>
      <dt className="font-medium text-slate-500">By tier</dt>
      <dd className="text-slate-700">
        {TIERS.filter((t) => tiers.has(t))
          .map((t) => `${t} ${tiers.get(t)}`)
          .join(" · ")}
      </dd>
      <dt className="font-medium text-slate-500">By host</dt>
      <dd className="text-slate-700">
        {hosts.map((h, i) => (
          <span key={h.serverId}>
            {i > 0 ? " · " : ""}
            <a href={`#plan-${h.serverId}`} className="text-sky-700 hover:underline">
              {h.name}
            </a>{" "}
            {h.steps.length}
          </span>
        ))}
      </dd>
    </dl>
  );
}

function HostPlan({ host: h, sharedKeys }: { host: HostPlanDto; sharedKeys: ReadonlySet<string> }) {
  const own = h.steps.filter((st) => !sharedKeys.has(stepKey(st)));
  const sharedCount = h.steps.length - own.length;
  return (
    <section id={`plan-${h.serverId}`} aria-label={`Plan for ${h.name}`} data-testid="host-plan" data-host={h.name} className="rounded-md border border-slate-200">
      <header className="flex flex-wrap items-center gap-2 border-b border-slate-100 bg-slate-50 px-3 py-2">
        <h3 className="text-sm font-semibold text-slate-900">{h.name}</h3>
        <span className="font-mono text-xs text-slate-500">{h.address}</span>
        <span className="flex flex-wrap gap-1">
          {h.roles.map((r) => (
            <Badge key={r}>{ROLE_LABELS[r]}</Badge>
          ))}
        </span>
        {h.unreachable ? <Badge tone="danger">unreachable</Badge> : null}
        {h.outcome ? (
          <span data-testid="host-outcome" data-outcome={h.outcome}>
            <Badge tone={OUTCOMES[h.outcome].tone}>{OUTCOMES[h.outcome].label}</Badge>
          </span>
        ) : null}
        <span className="ml-auto text-xs text-slate-500">{h.error ? "not planned" : h.steps.length === 0 ? "up to date" : plural(h.steps.length, "step")}</span>
      </header>
      {h.error ? <p className="border-b border-rose-100 bg-rose-50 px-3 py-2 text-sm text-rose-700">{h.error}</p> : null}
      {h.outcomeReason && h.outcome !== "converged" ? <p className="border-b border-amber-100 bg-amber-50 px-3 py-2 text-sm text-amber-900">{h.outcomeReason}</p> : null}
      {h.checks.length > 0 ? <Checks checks={h.checks} /> : null}
      {h.notes.length > 0 ? (
        <ul className="space-y-0.5 border-b border-slate-100 px-3 py-2 text-xs text-slate-500">
          {h.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      ) : null}
      {h.steps.length === 0 && !h.error ? <p className="px-3 py-2 text-sm text-slate-500">No changes on this host.</p> : null}
      {sharedCount > 0 ? (
        <p className="border-b border-slate-100 px-3 py-2 text-xs text-slate-500" data-testid="host-shared-steps">
          {plural(sharedCount, "step")} the same as on other hosts (listed once above){own.length > 0 ? "; its own:" : "."}
        </p>
      ) : null}
      {own.length > 0 ? (
        <ol className="divide-y divide-slate-100">
          {own.map((s) => (
            <Step key={s.id} step={s} />
          ))}
        </ol>
      ) : null}
    </section>
  );
}

/** The checks that prove the host's roles work: each with what was expected and what was found. */
function Checks({ checks }: { checks: HostPlanDto["checks"] }) {
  const failing = checks.filter((c) => !c.ok);
  return (
    <details open={failing.length > 0} className="group border-b border-slate-100 px-3 py-2" data-testid="host-checks">
      <summary className="flex cursor-pointer list-none items-center gap-1 text-xs font-medium text-slate-600 hover:text-slate-900">
        <ChevronRight size={14} className="transition-transform group-open:rotate-90" aria-hidden />
        {failing.length > 0 ? <span className="text-rose-700">{plural(failing.length, "check")} failed</span> : <span className="text-emerald-700">{plural(checks.length, "check")} passed</span>}
      </summary>
      <ul className="mt-1 space-y-1">
        {checks.map((c, i) => (
          <li key={i} data-testid="host-check" data-ok={c.ok} className="text-xs">
            <span className={cn("font-medium", c.ok ? "text-emerald-700" : "text-rose-700")}>
              {c.ok ? "✓" : "✗"} {c.name}
            </span>
            {c.ok ? (
              <span className="ml-2 break-all text-slate-500">{c.found}</span>
            ) : (
              <span className="block pl-4 text-slate-700">
                expected: {c.expected}
                <br />
                found: {c.found}
              </span>
            )}
          </li>
        ))}
      </ul>
    </details>
  );
}

function Step({ step: s, hosts }: { step: PlanStepDto; hosts?: string[] }) {
  return (
    <li data-testid="plan-step" data-action={s.action} data-kind={s.kind} data-hosts={hosts?.join(",")} className="space-y-2 px-3 py-2.5">
      <div className="flex flex-wrap items-start gap-2">
        <Badge tone={ACTION_TONES[s.action] ?? "neutral"} className="shrink-0 uppercase tracking-wide">
          {s.action}
        </Badge>
        <div className="min-w-0 flex-1">
          <p className="text-sm font-medium text-slate-900">{s.summary}</p>
          <p className="text-xs text-slate-500">
            {s.reason}
            <span className="ml-2 font-mono text-slate-500">
              {s.tier} · {s.resource}
            </span>
          </p>
          {hosts ? (
            <p className="mt-0.5 text-xs text-slate-600" data-testid="step-hosts">
              on {plural(hosts.length, "host")}: {hosts.join(", ")}
            </p>
          ) : null}
        </div>
      </div>
      {s.diff ? <CollapsedDiff diff={s.diff} label={`Diff of ${s.resource}`} /> : null}
      {s.commands.length > 0 ? (
        <details className="group">
          <summary className="flex cursor-pointer list-none items-center gap-1 text-xs font-medium text-slate-600 hover:text-slate-900">
            <ChevronRight size={14} className="transition-transform group-open:rotate-90" aria-hidden />
            {plural(s.commands.length, "command")}
          </summary>
          <pre tabIndex={0} className="mt-1 overflow-x-auto rounded-md bg-slate-950 px-3 py-2 font-mono text-xs leading-relaxed text-slate-100">
            {s.commands.join("\n")}
          </pre>
        </details>
      ) : null}
    </li>
  );
}

/** A diff, closed by default with its size; its lines are only put in the page once opened (plans with thousands of diffs stay light). */
function CollapsedDiff({ diff, label }: { diff: string; label: string }) {
  const [open, setOpen] = useState(false);
  const lines = diff.replace(/\n$/, "").split("\n");
  const added = lines.filter((l) => l.startsWith("+") && !l.startsWith("+++")).length;
  const removed = lines.filter((l) => l.startsWith("-") && !l.startsWith("---")).length;
  return (
    <details className="group" open={open} onToggle={(e) => setOpen(e.currentTarget.open)} data-testid="plan-diff-toggle">
      <summary className="flex cursor-pointer list-none items-center gap-1 text-xs font-medium text-slate-600 hover:text-slate-900">
        <ChevronRight size={14} className="transition-transform group-open:rotate-90" aria-hidden />
        Diff <span className="text-emerald-700">+{added}</span> <span className="text-rose-700">−{removed}</span> {removed + added === 1 ? "line" : "lines"}
      </summary>
      {open ? <DiffBlock diff={diff} label={label} /> : null}
    </details>
  );
}

function lineClass(line: string): string {
  if (line.startsWith("+++") || line.startsWith("---")) return "text-slate-500 font-semibold";
  if (line.startsWith("@@")) return "text-sky-700 bg-sky-50";
  if (line.startsWith("+")) return "text-emerald-800 bg-emerald-50";
  if (line.startsWith("-")) return "text-rose-800 bg-rose-50";
  if (line.startsWith("\\")) return "text-slate-500 italic";
  return "text-slate-700";
}

/** A unified diff, line by line, as text. */
export function DiffBlock({ diff, label }: { diff: string; label: string }) {
  const lines = diff.replace(/\n$/, "").split("\n");
  return (
    <pre tabIndex={0} aria-label={label} data-testid="plan-diff" className="max-h-96 overflow-auto rounded-md border border-slate-200 bg-white py-1 font-mono text-xs leading-relaxed">
      {lines.map((line, i) => (
        <span key={i} className={cn("block min-w-max px-3", lineClass(line))}>
          {line === "" ? " " : line}
        </span>
      ))}
    </pre>
  );
}
