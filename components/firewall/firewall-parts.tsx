"use client";
// Pieces of the firewall pages: a server's effective rules (role defaults marked as
// such) with its rendered nftables text, and the history of rollbacks.
import Link from "next/link";
import { ChevronRight } from "lucide-react";
import type { FirewallEventDto, FirewallViewDto } from "@/server/schemas/firewall";
import { Badge, type Tone } from "../ui/badge";
import { formatTime } from "../runs/time";
import { TableScroll } from "../ui/table-scroll";

type ServerView = FirewallViewDto["servers"][number];

/** Where an effective rule comes from, as a badge: Rampart's SSH rule, a role's default, or an operator's rule. */
export function originBadge(origin: string): { label: string; tone: Tone; kind: "ssh" | "role-default" | "operator" } {
  if (origin.startsWith("rule: ")) return { label: origin.slice(6), tone: "info", kind: "operator" };
  if (origin.startsWith("role default: ")) return { label: `role default (${origin.slice(14)})`, tone: "neutral", kind: "role-default" };
  return { label: `Rampart (${origin})`, tone: "neutral", kind: "ssh" };
}

export function EffectiveRules({ server, firewallOn }: { server: ServerView; firewallOn: boolean }) {
  return (
    <div className="space-y-2">
      <TableScroll>
        <table className="min-w-full text-sm" aria-label={`Effective rules on ${server.name}`}>
          <thead className="text-left text-xs text-slate-500">
            <tr>
              <th className="py-1 pr-3 font-medium">Origin</th>
              <th className="py-1 pr-3 font-medium">Direction</th>
              <th className="py-1 pr-3 font-medium">Action</th>
              <th className="py-1 pr-3 font-medium">Port</th>
              <th className="py-1 pr-3 font-medium">Peers</th>
              <th className="py-1 font-medium">Comment</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            <tr className="text-slate-500">
              <td className="py-1 pr-3">
                <Badge>essential</Badge>
              </td>
              <td className="py-1 pr-3" colSpan={5}>
                Inbound policy drop; established and related traffic, loopback and essential ICMP/ICMPv6 accepted.
              </td>
            </tr>
            {server.rules.map((r, i) => {
              const o = originBadge(r.origin);
              return (
                <tr key={i} data-testid="effective-rule" data-origin={o.kind}>
                  <td className="py-1 pr-3">
                    <Badge tone={o.tone}>{o.label}</Badge>
                  </td>
                  <td className="py-1 pr-3">{r.direction === "in" ? "in" : "out"}</td>
                  <td className={r.action === "drop" ? "py-1 pr-3 font-medium text-rose-700" : "py-1 pr-3"}>{r.action}</td>
                  <td className="py-1 pr-3 font-mono text-xs">
                    {r.ports}/{r.protocol}
                  </td>
                  <td className="py-1 pr-3 font-mono text-xs">{r.peers.join(", ") || "nobody (no address resolved)"}</td>
                  <td className="py-1 text-xs text-slate-600">{r.comment}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableScroll>
      {server.ruleset ? (
        <details className="group">
          <summary className="flex cursor-pointer list-none items-center gap-1 text-xs font-medium text-slate-600 hover:text-slate-900">
            <ChevronRight size={14} className="transition-transform group-open:rotate-90" aria-hidden />
            nftables rule set (table inet rampart)
          </summary>
          <pre tabIndex={0} data-testid="ruleset" className="mt-2 max-h-96 overflow-auto rounded-md bg-slate-900 p-3 font-mono text-xs text-slate-100">
            {server.ruleset}
          </pre>
        </details>
      ) : !firewallOn ? (
        <p className="text-xs text-slate-500">The firewall is off for this topology: Rampart removes its table on the next apply.</p>
      ) : null}
    </div>
  );
}

export function RollbackHistory({ events }: { events: FirewallEventDto[] }) {
  if (events.length === 0) return <p className="text-sm text-slate-500">No rollbacks: every rule set Rampart applied was confirmed over a new SSH connection.</p>;
  return (
    <TableScroll>
      <table className="min-w-full text-sm" aria-label="Rollback history">
        <thead className="text-left text-xs text-slate-500">
          <tr>
            <th className="py-1 pr-3 font-medium">When</th>
            <th className="py-1 pr-3 font-medium">Server</th>
            <th className="py-1 pr-3 font-medium">What</th>
            <th className="py-1 pr-3 font-medium">Rule set</th>
            <th className="py-1 font-medium">Detail</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {events.map((e) => (
            <tr key={e.id} data-testid="firewall-event" data-kind={e.kind}>
              <td className="py-1 pr-3 whitespace-nowrap">{formatTime(e.at)}</td>
              <td className="py-1 pr-3">{e.serverName}</td>
              <td className="py-1 pr-3">
                {e.kind === "rolled-back" ? <Badge tone="danger">rolled back by the host</Badge> : <Badge tone="warning">re-applied by an admin</Badge>}
                {e.runId ? (
                  <Link href={`/runs/${e.runId}`} className="ml-2 text-xs text-sky-700 underline">
                    run
                  </Link>
                ) : null}
              </td>
              <td className="py-1 pr-3 font-mono text-xs">{e.rulesetHash.slice(0, 12)}</td>
              <td className="py-1 text-xs text-slate-600">{e.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  );
}
