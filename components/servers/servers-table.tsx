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

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export function ServersTable() {
  const trpc = useTRPC();
  const router = useRouter();
  const canOperate = useCan("operate");
  const [adding, setAdding] = useState(false);
  const servers = useQuery({ ...trpc.servers.list.queryOptions(), refetchInterval: 5000 });
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
      <div className="overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm">
        <table className="w-full text-left text-sm">
          <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
            <tr>
              <th className="px-4 py-2 font-medium">Server</th>
              <th className="px-4 py-2 font-medium">Login</th>
              <th className="px-4 py-2 font-medium">Host key</th>
              <th className="px-4 py-2 font-medium">System</th>
              <th className="px-4 py-2 font-medium">Last check</th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {servers.data.map((s) => (
              <tr key={s.id} data-testid="server-row" className="hover:bg-slate-50">
                <td className="px-4 py-2">
                  <Link href={`/servers/${s.id}`} className="font-medium text-sky-700 hover:underline">
                    {s.name}
                  </Link>
                  <div className="font-mono text-xs text-slate-500">
                    {s.address}:{s.port}
                  </div>
                </td>
                <td className="px-4 py-2 text-slate-600">
                  {s.user} · {s.sshKeyName}
                </td>
                <td className="px-4 py-2">
                  <HostKeyBadge status={s.hostKeyStatus} />
                </td>
                <td className="px-4 py-2 text-slate-600">{s.facts ? `${s.facts.os.pretty} · ${s.facts.cpus} CPU · ${gib(s.facts.memoryBytes)}` : "—"}</td>
                <td className="px-4 py-2 text-slate-600" title={s.lastCheckError ?? undefined}>
                  {formatTime(s.lastCheckAt)}
                  {s.lastCheckError ? <span className="ml-1 text-rose-600">(failed)</span> : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
