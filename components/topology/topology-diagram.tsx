"use client";
// The topology drawn left to right, the way a request travels: the Internet, the
// load balancers, the web tier, the app tier, then the database (primary and
// replicas). A server with several roles appears once in each of its columns.
// Every hop says how it is protected, as the role modules declare it
// (server/provision/roles/*, served with the topology):
// HTTPS from the Internet, TLS verified against Rampart's internal CA behind the
// load balancer, loopback to an app on the web server's own host, and the
// database hop, still plain. Web servers show their health as the load balancers
// see it (read every few seconds) and can be drained. On the Monitoring page, each
// server is coloured by its health as monitoring sees it instead (read-only there).
import { Activity, Database, Globe, Lock, LockOpen, PauseCircle, PlayCircle, Repeat, Scale, Server as ServerIcon, Workflow } from "lucide-react";
import { useEffect, useState, type ReactNode } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { ROLE_LABELS, type ModuleName, type Role, type TopologyDto } from "@/server/schemas/topology";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { ConfirmDialog } from "../ui/confirm";
import { cn } from "../ui/cn";

type Member = TopologyDto["members"][number];
type DiagramTopology = Pick<TopologyDto, "id" | "members" | "balance" | "name" | "lbHealth" | "hops">;
/** Each server's health (by server id) as the Monitoring page computes it. */
type HealthMap = Record<string, { state: "healthy" | "degraded" | "down" | "unknown"; reasons: string[] }>;

interface Column {
  key: string;
  title: string;
  icon: ReactNode;
  nodes: { member: Member; role: Role; caption?: string }[];
}

const HOST_KEY_WARNINGS: Record<string, string> = {
  unknown: "not contacted yet",
  pending: "host key to accept",
  mismatch: "HOST KEY CHANGED",
};

function columnsOf(t: Pick<TopologyDto, "members">): Column[] {
  const withRole = (role: Role, caption?: string) => t.members.filter((m) => m.roles.includes(role)).map((member) => ({ member, role, caption }));
  return [
    { key: "load-balancer", title: "Load balancers", icon: <Scale size={14} aria-hidden />, nodes: withRole("load-balancer") },
    { key: "web", title: "Web", icon: <ServerIcon size={14} aria-hidden />, nodes: withRole("web") },
    { key: "app", title: "App", icon: <Workflow size={14} aria-hidden />, nodes: withRole("app") },
    { key: "database", title: "Database", icon: <Database size={14} aria-hidden />, nodes: [...withRole("db-primary", "primary"), ...withRole("db-replica", "replica")] },
  ];
}

// ---- Hops

type HopKind = "https" | "tls" | "loopback" | "plain";
interface Hop {
  kind: HopKind;
  label: string;
  encrypted: boolean;
  /** What exactly happens on this hop (shown as a tooltip and to screen readers). */
  detail: string;
}

const COLUMN_ROLES: Record<string, ModuleName[]> = { "load-balancer": ["load-balancer"], web: ["web"], app: ["app"], database: ["db-primary", "db-replica"] };
const STRENGTH: HopKind[] = ["https", "tls", "loopback", "plain"];

/**
 * How a request reaches the column `key` from the one before it, as the role
 * modules declare it (server/provision/roles/*): the hops into that column's roles.
 */
function hopInto(key: string, t: Pick<TopologyDto, "hops">): Hop {
  // The load balancer's :80 only redirects, and the control plane's hops (metrics) are not
  // the way requests travel: the column's hop is the one requests travel.
  const into = t.hops.filter((h) => COLUMN_ROLES[key]?.includes(h.toRole) && h.from !== "control-plane" && !(h.toRole === "load-balancer" && h.port === 80));
  if (into.length === 0) return { kind: "plain", label: "—", encrypted: false, detail: "No traffic is declared into this tier." };
  const kinds = [...new Set(into.map((h) => h.protection))].sort((a, b) => STRENGTH.indexOf(a) - STRENGTH.indexOf(b));
  const main = into.find((h) => h.protection === kinds[0])!;
  return { kind: kinds[0]!, label: main.label, encrypted: kinds[0] === "https" || kinds[0] === "tls", detail: [...new Set(into.map((h) => h.detail))].join(" ") };
}

// ---- Backend health as the load balancers see it

interface Reading {
  /** The load balancer that reported it (null: no reading at all). */
  lb: string | null;
  status: string;
  detail: string;
}

function healthOf(member: Member, lbHealth: TopologyDto["lbHealth"]): Reading[] {
  if (!lbHealth || lbHealth.loadBalancers.length === 0)
    return [{ lb: null, status: "unknown", detail: "No reading from the load balancer yet (it is read every few seconds once the topology is applied)." }];
  return lbHealth.loadBalancers.map((lb) => {
    if (lb.error) return { lb: lb.name, status: "unknown", detail: `${lb.name} could not be asked: ${lb.error}` };
    const b = lb.backends.find((x) => x.server === member.serverName);
    if (!b) return { lb: lb.name, status: "unknown", detail: `${lb.name} does not list ${member.serverName} (not applied yet?)` };
    const since = b.lastChangeS !== null ? ` for ${formatAge(b.lastChangeS)}` : "";
    return { lb: lb.name, status: b.status || "unknown", detail: `${lb.name}: ${b.status}${since}${b.check ? ` · last check ${b.check}` : ""}` };
  });
}

type HealthTone = "up" | "down" | "warn" | "unknown";
function healthTone(status: string): HealthTone {
  if (status === "UP") return "up";
  if (status === "DOWN" || status.startsWith("DOWN")) return status === "DOWN" ? "down" : "warn";
  if (status === "DRAIN" || status === "MAINT" || status.startsWith("UP ") || status === "NOLB") return "warn";
  return "unknown";
}
const HEALTH_CLASSES: Record<HealthTone, { dot: string; text: string }> = {
  up: { dot: "bg-emerald-500", text: "text-emerald-700" },
  down: { dot: "bg-rose-500", text: "text-rose-700" },
  warn: { dot: "bg-amber-400", text: "text-amber-800" },
  unknown: { dot: "bg-slate-300", text: "text-slate-500" },
};

function formatAge(s: number): string {
  if (s < 60) return `${Math.max(0, Math.round(s))} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** The current time, ticking every second (for "seen 3 s ago"). */
function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

// ---- The diagram

export function TopologyDiagram({ topology, health }: { topology: DiagramTopology; health?: HealthMap }) {
  const columns = columnsOf(topology).filter((c) => c.nodes.length > 0);
  const facesInternet = columns[0]?.key === "load-balancer";
  const hops = columns.map((c) => hopInto(c.key, topology));
  const lbCount = topology.lbHealth?.loadBalancers.length ?? 0;

  return (
    <figure tabIndex={0} aria-label="Topology diagram" className="overflow-x-auto">
      {columns.length === 0 ? (
        <p className="px-4 py-10 text-center text-sm text-slate-500">No servers in this topology yet: edit it and give servers roles.</p>
      ) : (
        // Tiers left to right from 768 px up; on a phone they stack, the hops pointing down.
        <div className="flex flex-col items-center px-4 py-5 md:min-w-max md:flex-row md:items-stretch">
          {facesInternet ? (
            <>
              <DiagramColumn title="Internet" icon={<Globe size={14} aria-hidden />}>
                <div data-testid="diagram-internet" className="flex w-36 flex-col items-center gap-1 rounded-md border border-dashed border-slate-300 bg-slate-50 px-3 py-4 text-center">
                  <Globe size={22} className="text-slate-500" aria-hidden />
                  <span className="text-sm font-medium text-slate-700">Visitors</span>
                  <span className="break-all font-mono text-[11px] text-slate-500">{topology.name}</span>
                </div>
              </DiagramColumn>
              <Connector hop={hops[0]!} />
            </>
          ) : null}
          {columns.map((c, i) => (
            <div key={c.key} className="flex flex-col items-center md:flex-row md:items-stretch">
              {i > 0 ? <Connector hop={hops[i]!} /> : null}
              <DiagramColumn title={c.title} icon={c.icon} caption={c.key === "load-balancer" ? topology.balance : undefined}>
                {c.nodes.map((n) => (
                  <ServerNode
                    key={`${n.role}-${n.member.serverId}`}
                    topology={topology}
                    member={n.member}
                    role={n.role}
                    caption={n.caption}
                    multipleLbs={lbCount > 1}
                    health={health ? (health[n.member.serverId] ?? { state: "unknown", reasons: ["not monitored"] }) : undefined}
                  />
                ))}
              </DiagramColumn>
            </div>
          ))}
        </div>
      )}
      <figcaption className="sr-only">
        {columns.map((c) => `${c.title}: ${c.nodes.map((n) => n.member.serverName).join(", ")}`).join("; ")}
        {columns.length > 0 ? ". Hops: " : ""}
        {columns
          .map((c, i) =>
            i === 0 && !facesInternet ? null : `into ${c.title}: ${hops[i]!.label}, ${hops[i]!.encrypted ? "encrypted" : hops[i]!.kind === "loopback" ? "stays on the host" : "not encrypted"}`,
          )
          .filter(Boolean)
          .join("; ")}
      </figcaption>
    </figure>
  );
}

function DiagramColumn({ title, icon, caption, children }: { title: string; icon: ReactNode; caption?: string; children: ReactNode }) {
  return (
    <div role="group" aria-label={title} data-testid="diagram-column" className="flex flex-col">
      <div className="mb-2 flex items-center gap-1.5 text-xs font-semibold uppercase tracking-wide text-slate-500">
        {icon}
        {title}
        {caption ? <span className="font-mono font-normal normal-case text-slate-500">· {caption}</span> : null}
      </div>
      <div className="flex flex-1 flex-col justify-center gap-3">{children}</div>
    </div>
  );
}

const HOP_STYLES: Record<HopKind, { label: string; line: string; dash?: string; icon: ReactNode }> = {
  https: { label: "bg-emerald-50 text-emerald-800 ring-emerald-200", line: "text-emerald-500", icon: <Lock size={11} aria-hidden /> },
  tls: { label: "bg-emerald-50 text-emerald-800 ring-emerald-200", line: "text-emerald-500", icon: <Lock size={11} aria-hidden /> },
  loopback: { label: "bg-slate-50 text-slate-600 ring-slate-200", line: "text-slate-500", dash: "2 3", icon: <Repeat size={11} aria-hidden /> },
  plain: { label: "bg-amber-50 text-amber-800 ring-amber-300", line: "text-amber-500", dash: "6 4", icon: <LockOpen size={11} aria-hidden /> },
};

function Connector({ hop }: { hop: Hop }) {
  const style = HOP_STYLES[hop.kind];
  return (
    <div data-testid="diagram-link" data-hop={hop.kind} className={cn("flex w-full shrink-0 flex-col items-center justify-center px-1 py-2 md:w-32 md:self-stretch md:py-0 md:pt-6", style.line)}>
      <span
        data-testid="hop"
        data-encrypted={hop.encrypted ? "true" : "false"}
        data-hop={hop.kind}
        title={hop.detail}
        className={cn("mb-1.5 inline-flex max-w-full items-center gap-1 rounded px-1.5 py-0.5 text-center text-[11px] font-medium leading-tight ring-1 ring-inset", style.label)}
      >
        {style.icon}
        {hop.label}
      </span>
      <svg width="112" height="12" viewBox="0 0 112 12" aria-hidden className="hidden overflow-visible md:block">
        <line x1="2" y1="6" x2="102" y2="6" stroke="currentColor" strokeWidth="2" strokeDasharray={style.dash} />
        <path d="M102 1 L111 6 L102 11 Z" fill="currentColor" />
      </svg>
      <svg width="12" height="36" viewBox="0 0 12 36" aria-hidden className="overflow-visible md:hidden">
        <line x1="6" y1="2" x2="6" y2="26" stroke="currentColor" strokeWidth="2" strokeDasharray={style.dash} />
        <path d="M1 26 L6 35 L11 26 Z" fill="currentColor" />
      </svg>
    </div>
  );
}

type NodeState = "ok" | "warning" | "danger" | "unknown";
const NODE_STYLES: Record<NodeState, { border: string; dot: string; text: string }> = {
  ok: { border: "border-slate-200", dot: "bg-emerald-500", text: "sr-only" },
  warning: { border: "border-amber-300", dot: "bg-amber-400", text: "text-amber-700" },
  danger: { border: "border-rose-400", dot: "bg-rose-500", text: "font-semibold text-rose-700" },
  unknown: { border: "border-slate-300 border-dashed", dot: "bg-slate-300", text: "text-slate-500" },
};
const HEALTH_STATES: Record<HealthMap[string]["state"], NodeState> = { healthy: "ok", degraded: "warning", down: "danger", unknown: "unknown" };

function ServerNode({
  topology,
  member: m,
  role,
  caption,
  multipleLbs,
  health,
}: {
  topology: DiagramTopology;
  member: Member;
  role: Role;
  caption?: string;
  multipleLbs: boolean;
  health?: HealthMap[string];
}) {
  const keyWarning = m.hostKeyStatus !== "pinned" ? (HOST_KEY_WARNINGS[m.hostKeyStatus] ?? m.hostKeyStatus) : null;
  // Monitoring's view when given; otherwise what Rampart's own checks say.
  const state: NodeState = health ? HEALTH_STATES[health.state] : m.hostKeyStatus === "mismatch" ? "danger" : keyWarning || m.lastCheckError ? "warning" : "ok";
  const stateText = health ? health.reasons.join(" · ") || health.state : (keyWarning ?? (m.lastCheckError ? "last check failed" : "ok"));
  const style = NODE_STYLES[state];
  const lbError = role === "load-balancer" ? (topology.lbHealth?.loadBalancers.find((l) => l.name === m.serverName)?.error ?? null) : null;
  return (
    <div
      data-testid="diagram-node"
      data-server={m.serverName}
      data-role={role}
      data-state={state}
      data-health={health?.state}
      data-drained={role === "web" ? (m.drained ? "true" : "false") : undefined}
      title={!health && m.lastCheckError ? `Last check failed: ${m.lastCheckError}` : undefined}
      className={cn("w-56 rounded-md border bg-white px-3 py-2 shadow-sm", style.border)}
    >
      <div className="flex items-center gap-2">
        <span aria-hidden className={cn("h-2.5 w-2.5 shrink-0 rounded-full", style.dot)} />
        <span className="truncate text-sm font-semibold text-slate-900">{m.serverName}</span>
        {caption ? <span className="ml-auto rounded bg-slate-100 px-1.5 text-[10px] font-medium uppercase text-slate-600">{caption}</span> : null}
        {role === "web" && m.drained ? (
          <span className="ml-auto rounded bg-amber-100 px-1.5 text-[10px] font-medium uppercase text-amber-800" data-testid="node-drained" title="Drained: the load balancer sends it no new requests">
            drained
          </span>
        ) : null}
      </div>
      <div className="mt-0.5 truncate font-mono text-xs text-slate-500">{m.address}</div>
      <div className="mt-1.5 flex flex-wrap gap-1">
        {m.roles.map((r) => (
          <span key={r} className={cn("rounded px-1.5 py-px text-[10px] font-medium", r === role ? "bg-sky-100 text-sky-800" : "bg-slate-100 text-slate-600")}>
            {ROLE_LABELS[r]}
          </span>
        ))}
        {m.monitoring ? (
          <span className="inline-flex items-center gap-0.5 rounded bg-slate-50 px-1.5 py-px text-[10px] text-slate-500" title="Monitoring client installed">
            <Activity size={10} aria-hidden /> monitored
          </span>
        ) : null}
      </div>
      <p className={cn("mt-1 text-xs", style.text)} data-testid="node-state">
        {stateText}
      </p>
      {lbError ? (
        <p data-testid="lb-error" className="mt-1 break-words text-xs text-rose-700">
          Backend health not read: {lbError}
        </p>
      ) : null}
      {role === "web" ? (
        <>
          <LbHealthView member={m} lbHealth={topology.lbHealth} multipleLbs={multipleLbs} />
          {health ? null : <DrainButton topologyId={topology.id} member={m} />}
        </>
      ) : null}
    </div>
  );
}

function LbHealthView({ member, lbHealth, multipleLbs }: { member: Member; lbHealth: TopologyDto["lbHealth"]; multipleLbs: boolean }) {
  const now = useNow();
  const readings = healthOf(member, lbHealth);
  const ageS = lbHealth ? Math.max(0, (now - new Date(lbHealth.at).getTime()) / 1000) : null;
  const stale = ageS !== null && ageS > 30;
  return (
    <div className="mt-2 border-t border-slate-100 pt-1.5">
      <div className="flex flex-wrap items-center gap-x-2 gap-y-0.5">
        <span className="text-[10px] font-medium uppercase tracking-wide text-slate-500">Load balancer sees</span>
        {readings.map((r) => {
          const tone = HEALTH_CLASSES[healthTone(r.status)];
          return (
            <span
              key={r.lb ?? "none"}
              data-testid="lb-health"
              data-status={r.status}
              data-lb={r.lb ?? undefined}
              title={r.detail}
              className={cn("inline-flex items-center gap-1 text-xs font-semibold", tone.text)}
            >
              <span aria-hidden className={cn("h-2 w-2 rounded-full", tone.dot)} />
              {r.status}
              {multipleLbs && r.lb ? <span className="font-normal text-slate-500">via {r.lb}</span> : null}
            </span>
          );
        })}
      </div>
      <p data-testid="lb-health-age" className={cn("text-[11px]", stale ? "text-amber-700" : "text-slate-500")} title={lbHealth ? new Date(lbHealth.at).toLocaleString() : undefined}>
        {ageS === null ? "no reading yet" : `seen ${formatAge(ageS)} ago`}
      </p>
    </div>
  );
}

function DrainButton({ topologyId, member: m }: { topologyId: string; member: Member }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const [confirm, setConfirm] = useState(false);
  const drain = !m.drained;
  const set = useMutation(
    trpc.topologies.setDrained.mutationOptions({
      onSuccess: (run) => {
        void queryClient.invalidateQueries({ queryKey: trpc.topologies.get.queryKey({ id: topologyId }) });
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        router.push(`/runs/${run.id}`);
      },
    }),
  );
  const verb = drain ? "Drain" : "Undrain";
  return (
    <>
      <button
        type="button"
        aria-label={`${verb} ${m.serverName}`}
        disabled={!canOperate || set.isPending}
        title={
          canOperate
            ? drain
              ? "Stop sending this server new requests (for maintenance); applies at once"
              : "Put this server back in the load balancer's rotation; applies at once"
            : "Only operators and admins can do this"
        }
        onClick={() => {
          set.reset();
          setConfirm(true);
        }}
        className="mt-1.5 inline-flex items-center gap-1 rounded border border-slate-300 bg-white px-2 py-0.5 text-xs font-medium text-slate-700 shadow-sm hover:bg-slate-50 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600 disabled:cursor-not-allowed disabled:text-slate-500"
      >
        {drain ? <PauseCircle size={12} aria-hidden /> : <PlayCircle size={12} aria-hidden />}
        {verb}
      </button>
      <ConfirmDialog
        open={confirm}
        title={`${verb} ${m.serverName}?`}
        confirmLabel={drain ? "Drain now" : "Undrain now"}
        tone={drain ? "danger" : "primary"}
        pending={set.isPending}
        error={set.error?.message}
        onConfirm={() => set.mutate({ id: topologyId, serverId: m.serverId, drained: drain })}
        onClose={() => setConfirm(false)}
      >
        {drain ? (
          <p>The load balancer stops sending it new requests. Requests in progress finish. Rampart applies this at once: it starts an apply run of the topology, which you can follow.</p>
        ) : (
          <p>The load balancer sends it requests again once its health check passes. Rampart applies this at once: it starts an apply run of the topology.</p>
        )}
      </ConfirmDialog>
    </>
  );
}
