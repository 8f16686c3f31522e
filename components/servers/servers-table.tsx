"use client";
import { useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQuery } from "@tanstack/react-query";
import { Plus, Server as ServerIcon, Stethoscope } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { EmptyState } from "../ui/empty-state";
import { FormError } from "../ui/field";
import { HostKeyBadge } from "./host-key-badge";
import { ServerForm } from "./server-form";
import { formatTime } from "../runs/time";
import { DataTable } from "../ui/data-table";
import { ROLE_LABELS } from "@/server/schemas/topology";

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export function ServersTable() {
  const trpc = useTRPC();
  const router = useRouter();
  const canOperate = useCan("operate");
  const [adding, setAdding] = useState(false);
  const servers = useQuery({ ...trpc.servers.list.queryOptions(), refetchInterval: 5000 });
  const topologies = useQuery(trpc.topologies.list.queryOptions());
  // Which topology each server is in, and its roles there (a server is in one at most).
  const memberships = new Map((topologies.data ?? []).flatMap((t) => t.members.map((m) => [m.serverId, { topologyId: t.id, topology: t.name, roles: m.roles }] as const)));
  const check = useMutation(trpc.servers.check.mutationOptions({ onSuccess: (run) => router.push(`/runs/${run.id}`) }));

  const addCard = adding ? (
    <Card>
      <CardHeader title="Add a server" description="Rampart connects over SSH as root (or a sudo user) with one of its keys. Install the key's public half on the server first." />
      <div className="p-4">
        <ServerForm onDone={(id) => router.push(`/servers/${id}`)} />
      </div>
    </Card>
  ) : null;

  const addButton = (
    <Button onClick={() => setAdding(true)} disabled={!canOperate} title={canOperate ? undefined : "Only operators and admins can add servers"}>
      <Plus size={16} aria-hidden /> Add server
    </Button>
  );

  if (servers.isPending) return <p className="text-sm text-slate-500">Loading servers…</p>;
  if (servers.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {servers.error.message}
      </p>
    );
  if (servers.data.length === 0)
    return (
      <div className="space-y-4">
        {addCard ?? (
          <EmptyState icon={<ServerIcon size={32} />} title="No servers yet" action={addButton}>
            Servers you add are listed here with their address, SSH key, pinned host-key fingerprint, and the facts Rampart last read from them (OS, kernel, CPU, memory, disk, package versions). Add
            one, accept its host key, and run a check.
          </EmptyState>
        )}
      </div>
    );

  return (
    <div className="space-y-4">
      <div className="flex justify-end gap-2">
        <Button
          variant="secondary"
          disabled={!canOperate || check.isPending}
          onClick={() => check.mutate({ ids: servers.data.map((s) => s.id) })}
          title={canOperate ? undefined : "Only operators and admins can start checks"}
        >
          <Stethoscope size={16} aria-hidden /> Check all
        </Button>
        {addButton}
      </div>
      <FormError message={check.error?.message} />
      {addCard}
      <DataTable
        label="Servers"
        rows={servers.data}
        rowTestId="server-row"
        searchPlaceholder="Search servers"
        columns={[
          {
            id: "server",
            header: "Server",
            value: (s) => `${s.name} ${s.address}`,
            cell: (s) => (
              <>
                <Link href={`/servers/${s.id}`} className="font-medium text-sky-700 hover:underline">
                  {s.name}
                </Link>
                <div className="font-mono text-xs text-slate-500">
                  {s.address}:{s.port}
                </div>
              </>
            ),
          },
          {
            id: "topology",
            header: "Topology",
            filter: true,
            value: (s) => memberships.get(s.id)?.topology ?? "",
            cell: (s) => {
              const m = memberships.get(s.id);
              return m ? (
                <>
                  <Link href={`/topology/${m.topologyId}`} className="text-sky-700 hover:underline">
                    {m.topology}
                  </Link>
                  <div className="text-xs text-slate-500">{m.roles.map((r) => ROLE_LABELS[r]).join(", ") || "no role"}</div>
                </>
              ) : (
                <span className="text-slate-500">none</span>
              );
            },
          },
          {
            id: "login",
            header: "Login",
            value: (s) => `${s.user} ${s.sshKeyName}`,
            cell: (s) => (
              <span className="text-slate-600">
                {s.user} · {s.sshKeyName}
              </span>
            ),
          },
          { id: "hostKey", header: "Host key", filter: true, value: (s) => s.hostKeyStatus, cell: (s) => <HostKeyBadge status={s.hostKeyStatus} /> },
          {
            id: "system",
            header: "System",
            value: (s) => (s.facts ? s.facts.os.pretty : ""),
            cell: (s) => <span className="text-slate-600">{s.facts ? `${s.facts.os.pretty} · ${s.facts.cpus} CPU · ${gib(s.facts.memoryBytes)}` : "—"}</span>,
          },
          {
            id: "lastCheck",
            header: "Last check",
            value: (s) => (s.lastCheckAt ? new Date(s.lastCheckAt).getTime() : null),
            cell: (s) => (
              <span className="text-slate-600" title={s.lastCheckError ?? undefined}>
                {formatTime(s.lastCheckAt)}
                {s.lastCheckError ? <span className="ml-1 text-rose-600">(failed)</span> : null}
              </span>
            ),
          },
        ]}
      />
    </div>
  );
}
