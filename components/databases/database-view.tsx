"use client";
// A topology's Databases page: the primary and each replica as the worker last read
// them (every 5 s): the replication diagram, then a table with read-only state,
// threads, lag, GTID positions and the last error. Refreshed live.
import { useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQuery } from "@tanstack/react-query";
import { ArrowDown } from "lucide-react";
import type { DbMemberStatus } from "@/server/schemas/database";
import { useTRPC } from "../trpc";
import { Badge, type Tone } from "../ui/badge";
import { Card, CardHeader } from "../ui/card";
import { Button } from "../ui/button";
import { ConfirmDialog } from "../ui/confirm";
import { useCan } from "../auth/me";
import { TableScroll } from "../ui/table-scroll";

type Member = { serverId: string; name: string; address: string; role: "primary" | "replica" };

/** How a server reads at a glance: its tone and a few words. */
export function memberHealth(m: Member, s: DbMemberStatus | undefined): { tone: Tone; text: string } {
  if (!s) return { tone: "neutral", text: "not read yet" };
  if (s.error) return { tone: "danger", text: "unreachable" };
  if (m.role === "primary") return s.readOnly ? { tone: "warning", text: "read-only primary" } : { tone: "success", text: "writable" };
  const r = s.replication;
  if (!r) return { tone: "danger", text: "not replicating" };
  if (r.sql !== "Yes") return { tone: "danger", text: "SQL thread stopped" };
  if (r.io === "No") return { tone: "danger", text: "IO thread stopped" };
  if (r.io !== "Yes") return { tone: "warning", text: `IO thread ${r.io.toLowerCase()}` };
  if (!s.readOnly) return { tone: "warning", text: "writable replica" };
  return { tone: "success", text: r.lagS === null ? "replicating" : `replicating, ${r.lagS} s behind` };
}

export function DatabaseView({ topologyId }: { topologyId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const canOperate = useCan("operate");
  const [promoting, setPromoting] = useState<{ member: Member; force: boolean } | null>(null);
  const promote = useMutation(trpc.databases.promote.mutationOptions({ onSuccess: (run) => router.push(`/runs/${run.id}`) }));
  const q = useQuery({ ...trpc.databases.status.queryOptions({ id: topologyId }), refetchInterval: 5000 });
  if (q.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {q.error.message}
      </p>
    );
  const v = q.data;
  if (!v) return <p className="text-sm text-slate-500">Loading the database servers…</p>;
  const statusOf = (id: string) => v.status?.members.find((s) => s.serverId === id);
  const primary = v.members.find((m) => m.role === "primary");
  const replicas = v.members.filter((m) => m.role === "replica");
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold tracking-tight text-slate-900">Databases · {v.topologyName}</h1>
        <p className="mt-1 text-sm text-slate-600">
          MariaDB, read by the worker every 5 s{v.status ? ` (last read ${v.status.at.toLocaleTimeString()})` : ""}.{" "}
          <Link href={`/topology/${v.topologyId}`} className="text-sky-700 underline">
            The topology
          </Link>
        </p>
      </div>
      {v.members.length === 0 ? <p className="text-sm text-slate-600">This topology has no database servers.</p> : null}
      {v.members.length > 0 && !v.status ? <p className="text-sm text-slate-600">Not read yet: the servers are read once the topology has been applied.</p> : null}

      {primary ? (
        <Card>
          <CardHeader title="Replication" description="Each replica reads the primary's binary log over TLS (verified against Rampart's internal CA), positioned by GTID." />
          <div className="flex flex-col items-center gap-2 p-4" data-testid="replication-diagram">
            <ServerBox m={primary} s={statusOf(primary.serverId)} />
            {replicas.length > 0 ? <ArrowDown className="text-slate-500" aria-hidden /> : null}
            <div className="flex flex-wrap justify-center gap-3">
              {replicas.map((r) => (
                <ServerBox key={r.serverId} m={r} s={statusOf(r.serverId)} />
              ))}
            </div>
          </div>
        </Card>
      ) : null}

      {v.members.length > 0 ? (
        <Card>
          <CardHeader title="Servers" />
          <TableScroll>
            <table className="w-full text-left text-sm" data-testid="database-servers">
              <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-600">
                <tr>
                  <th className="px-3 py-2">Server</th>
                  <th className="px-3 py-2">Role</th>
                  <th className="px-3 py-2">State</th>
                  <th className="px-3 py-2">Read-only</th>
                  <th className="px-3 py-2">IO / SQL thread</th>
                  <th className="px-3 py-2">Lag</th>
                  <th className="px-3 py-2">GTID position</th>
                  <th className="px-3 py-2">Last error</th>
                  {canOperate ? <th className="px-3 py-2">Action</th> : null}
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {v.members.map((m) => {
                  const s = statusOf(m.serverId);
                  const h = memberHealth(m, s);
                  const r = s?.replication ?? null;
                  const lastError = s?.error ?? (r ? r.lastSqlError || r.lastIoError : "");
                  return (
                    <tr key={m.serverId} data-server={m.name}>
                      <td className="px-3 py-2 font-medium text-slate-900">
                        {m.name} <span className="font-normal text-slate-500">{m.address}</span>
                      </td>
                      <td className="px-3 py-2">{m.role}</td>
                      <td className="px-3 py-2">
                        <Badge tone={h.tone}>{h.text}</Badge>
                      </td>
                      <td className="px-3 py-2">{s?.readOnly == null ? "—" : s.readOnly ? "yes" : "no"}</td>
                      <td className="px-3 py-2">{r ? `${r.io} / ${r.sql}${r.tls ? " · TLS" : " · not verified TLS"}` : "—"}</td>
                      <td className="px-3 py-2" data-testid="lag">
                        {r ? (r.lagS === null ? "unknown" : `${r.lagS} s`) : "—"}
                      </td>
                      <td className="px-3 py-2 font-mono text-xs">{r ? `applied ${s?.gtidCurrent || "—"}, received ${r.gtidReceived || "—"}` : s?.gtidCurrent || "—"}</td>
                      <td className="max-w-xs px-3 py-2 text-xs text-rose-700">{lastError || ""}</td>
                      {canOperate ? (
                        <td className="px-3 py-2">
                          {m.role === "replica" ? (
                            <Button variant="secondary" onClick={() => setPromoting({ member: m, force: false })}>
                              Promote…
                            </Button>
                          ) : null}
                        </td>
                      ) : null}
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableScroll>
        </Card>
      ) : null}
      <ConfirmDialog
        open={!!promoting}
        title={`Promote ${promoting?.member.name ?? ""} to primary?`}
        confirmLabel="Compute the preview"
        tone="primary"
        pending={promote.isPending}
        error={promote.error?.message ?? null}
        onClose={() => {
          setPromoting(null);
          promote.reset();
        }}
        onConfirm={() => promoting && promote.mutate({ topologyId, candidateId: promoting.member.serverId, force: promoting.force })}
      >
        <p>
          Rampart first checks {promoting?.member.name} (lag, SQL thread, errant GTIDs) and shows what the promotion will do; nothing changes until you confirm that preview on the run&apos;s page.
          Then the current primary is fenced (read-only), {promoting?.member.name} applies everything, becomes the primary, the app servers switch to it, and the old primary rejoins as a replica.
        </p>
        <label className="mt-3 flex items-start gap-2 text-sm">
          <input type="checkbox" className="mt-1" checked={!!promoting?.force} onChange={(e) => promoting && setPromoting({ ...promoting, force: e.target.checked })} />
          <span>Force: go ahead even if the current primary cannot be reached (it cannot be fenced, and the transactions it wrote last may be lost; the preview says how many).</span>
        </label>
      </ConfirmDialog>
    </div>
  );
}

function ServerBox({ m, s }: { m: Member; s: DbMemberStatus | undefined }) {
  const h = memberHealth(m, s);
  return (
    <div className="min-w-48 rounded-md border border-slate-200 bg-slate-50 px-3 py-2 text-center" data-testid={`db-${m.name}`}>
      <div className="text-xs uppercase tracking-wide text-slate-600">{m.role}</div>
      <div className="font-medium text-slate-900">{m.name}</div>
      <Badge tone={h.tone}>{h.text}</Badge>
    </div>
  );
}
