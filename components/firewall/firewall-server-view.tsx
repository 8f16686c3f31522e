"use client";
// One server's firewall within a topology: its effective rules and rendered rule set,
// the matrix cells that involve it, and its rollbacks.
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { useTRPC } from "../trpc";
import { Card, CardHeader } from "../ui/card";
import { ReachabilityMatrix } from "./reachability-matrix";
import { EffectiveRules, RollbackHistory } from "./firewall-parts";

export function FirewallServerView({ topologyId, serverId }: { topologyId: string; serverId: string }) {
  const trpc = useTRPC();
  const fw = useQuery({ ...trpc.firewall.get.queryOptions({ id: topologyId }), refetchInterval: 15_000 });
  if (fw.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {fw.error.message}
      </p>
    );
  const f = fw.data;
  if (!f) return <p className="text-sm text-slate-500">Loading the firewall…</p>;
  const s = f.servers.find((x) => x.serverId === serverId);
  if (!s)
    return (
      <p role="alert" className="text-sm text-rose-700">
        This server is not part of the topology.{" "}
        <Link href={`/firewall/${topologyId}`} className="underline">
          Back to the topology&apos;s firewall
        </Link>
      </p>
    );
  return (
    <div className="space-y-6">
      <div>
        <h1 className="text-xl font-semibold tracking-tight text-slate-900">Firewall · {s.name}</h1>
        <p className="mt-1 font-mono text-sm text-slate-500">
          {s.address}
          {s.ips.length && s.ips.join() !== s.address ? ` → ${s.ips.join(", ")}` : ""} ·{" "}
          <Link href={`/servers/${s.serverId}`} className="font-sans text-sky-700 underline">
            server
          </Link>
        </p>
      </div>
      <Card>
        <CardHeader title="Effective rules" description="In the order the host evaluates them: drops first, then SSH, the role defaults and the operator's accept rules." />
        <div className="p-4">
          <EffectiveRules server={s} firewallOn={f.enabled} />
        </div>
      </Card>
      <Card>
        <CardHeader title="Reachability" description={`Probes from and to ${s.name}.`} />
        <div className="p-4">
          <ReachabilityMatrix reachability={f.reachability} serverId={s.serverId} />
        </div>
      </Card>
      <Card>
        <CardHeader title="Rollbacks" />
        <div className="p-4">
          <RollbackHistory events={f.events.filter((e) => e.serverId === s.serverId)} />
        </div>
      </Card>
    </div>
  );
}
