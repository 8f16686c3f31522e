// The topology drawn left to right, the way a request travels: the Internet, the
// load balancers, the web tier, the app tier, then the database (primary and
// replicas). A server with several roles appears once in each of its columns.
import { Activity, Database, Globe, Scale, Server as ServerIcon, Workflow } from "lucide-react";
import type { ReactNode } from "react";
import { ROLE_LABELS, type Role, type TopologyDto } from "@/server/schemas/topology";
import { cn } from "../ui/cn";

type Member = TopologyDto["members"][number];

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

/** What travels over the hop into a column. Plain text for now (no TLS between tiers yet). */
const PROTOCOL_INTO: Record<string, string> = { "load-balancer": "HTTP", web: "HTTP", app: "HTTP", database: "MySQL" };

export function TopologyDiagram({ topology }: { topology: Pick<TopologyDto, "members" | "balance" | "name"> }) {
  const columns = columnsOf(topology).filter((c) => c.nodes.length > 0);
  const facesInternet = columns[0]?.key === "load-balancer";

  return (
    <figure aria-label="Topology diagram" className="overflow-x-auto">
      {columns.length === 0 ? (
        <p className="px-4 py-10 text-center text-sm text-slate-500">No servers in this topology yet: edit it and give servers roles.</p>
      ) : (
        <div className="flex min-w-max items-stretch px-4 py-5">
          {facesInternet ? (
            <>
              <DiagramColumn title="Internet" icon={<Globe size={14} aria-hidden />}>
                <div data-testid="diagram-internet" className="flex w-36 flex-col items-center gap-1 rounded-md border border-dashed border-slate-300 bg-slate-50 px-3 py-4 text-center">
                  <Globe size={22} className="text-slate-400" aria-hidden />
                  <span className="text-sm font-medium text-slate-700">Visitors</span>
                  <span className="break-all font-mono text-[11px] text-slate-500">{topology.name}</span>
                </div>
              </DiagramColumn>
              <Connector label={PROTOCOL_INTO["load-balancer"]!} />
            </>
          ) : null}
          {columns.map((c, i) => (
            <div key={c.key} className="flex items-stretch">
              {i > 0 ? <Connector label={PROTOCOL_INTO[c.key] ?? "HTTP"} /> : null}
              <DiagramColumn title={c.title} icon={c.icon} caption={c.key === "load-balancer" ? topology.balance : undefined}>
                {c.nodes.map((n) => (
                  <ServerNode key={`${n.role}-${n.member.serverId}`} member={n.member} role={n.role} caption={n.caption} />
                ))}
              </DiagramColumn>
            </div>
          ))}
        </div>
      )}
      <figcaption className="sr-only">
        {columns.map((c) => `${c.title}: ${c.nodes.map((n) => n.member.serverName).join(", ")}`).join("; ")}
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
        {caption ? <span className="font-mono font-normal normal-case text-slate-400">· {caption}</span> : null}
      </div>
      <div className="flex flex-1 flex-col justify-center gap-3">{children}</div>
    </div>
  );
}

function Connector({ label }: { label: string }) {
  return (
    <div data-testid="diagram-link" className="flex w-24 shrink-0 flex-col items-center justify-center self-stretch pt-6 text-slate-400">
      <span className="mb-1 rounded bg-white px-1.5 text-[11px] font-medium uppercase tracking-wide text-slate-500">{label}</span>
      <svg width="88" height="12" viewBox="0 0 88 12" aria-hidden className="overflow-visible">
        <line x1="2" y1="6" x2="78" y2="6" stroke="currentColor" strokeWidth="2" strokeDasharray="0" />
        <path d="M78 1 L87 6 L78 11 Z" fill="currentColor" />
      </svg>
    </div>
  );
}

function ServerNode({ member: m, role, caption }: { member: Member; role: Role; caption?: string }) {
  const keyWarning = m.hostKeyStatus !== "pinned" ? (HOST_KEY_WARNINGS[m.hostKeyStatus] ?? m.hostKeyStatus) : null;
  const state: "ok" | "warning" | "danger" = m.hostKeyStatus === "mismatch" ? "danger" : keyWarning || m.lastCheckError ? "warning" : "ok";
  const stateText = keyWarning ?? (m.lastCheckError ? "last check failed" : "ok");
  return (
    <div
      data-testid="diagram-node"
      data-server={m.serverName}
      data-role={role}
      data-state={state}
      title={m.lastCheckError ? `Last check failed: ${m.lastCheckError}` : undefined}
      className={cn(
        "w-52 rounded-md border bg-white px-3 py-2 shadow-sm",
        state === "ok" ? "border-slate-200" : state === "warning" ? "border-amber-300" : "border-rose-400",
      )}
    >
      <div className="flex items-center gap-2">
        <span
          aria-hidden
          className={cn("h-2.5 w-2.5 shrink-0 rounded-full", state === "ok" ? "bg-emerald-500" : state === "warning" ? "bg-amber-400" : "bg-rose-500")}
        />
        <span className="truncate text-sm font-semibold text-slate-900">{m.serverName}</span>
        {caption ? <span className="ml-auto rounded bg-slate-100 px-1.5 text-[10px] font-medium uppercase text-slate-600">{caption}</span> : null}
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
      <p className={cn("mt-1 text-xs", state === "ok" ? "sr-only" : state === "warning" ? "text-amber-700" : "font-semibold text-rose-700")} data-testid="node-state">
        {stateText}
      </p>
    </div>
  );
}
