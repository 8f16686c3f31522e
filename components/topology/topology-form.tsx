"use client";
// Create or edit a topology: the site name, how the load balancer balances, and
// which role each registered server plays. A server with no role checked is not a
// member. The shared schema (TopologyInput) validates here exactly as on the server,
// and the server's own answers (name taken, server in another topology) land next
// to the field or the server's row.
import { useMemo, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertTriangle } from "lucide-react";
import { ROLES, ROLE_LABELS, TopologyInput, type Role, type TopologyDto, type TopologyValues } from "@/server/schemas/topology";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { Field, FormError, Input, Select } from "../ui/field";
import { cn } from "../ui/cn";
import { applyServerErrors } from "../auth/server-errors";
import { TableScroll } from "../ui/table-scroll";

type Row = { roles: Role[]; monitoring: boolean };
type Rows = Record<string, Row>;
type Member = { serverId: string; roles: Role[]; monitoring: boolean };

const BALANCE_OPTIONS = [
  { value: "roundrobin", label: "Round robin (roundrobin): each web server in turn" },
  { value: "leastconn", label: "Least connections (leastconn): the least busy web server" },
] as const;

const HOST_KEY_NOTES: Record<string, string> = {
  unknown: "not contacted yet: run a check and accept its host key before planning",
  pending: "host key not accepted yet: accept it on the server's page before planning",
  mismatch: "host key changed: an admin must review it before Rampart connects",
};

export function TopologyForm({ initial, onDone }: { initial?: TopologyDto; onDone?: (id: string) => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const servers = useQuery(trpc.servers.list.queryOptions());
  const topologies = useQuery(trpc.topologies.list.queryOptions());
  const [formError, setFormError] = useState<string | null>(null);

  const initialMembers: Member[] = useMemo(() => (initial?.members ?? []).map((m) => ({ serverId: m.serverId, roles: m.roles, monitoring: m.monitoring })), [initial]);
  const [rows, setRows] = useState<Rows>(() => Object.fromEntries(initialMembers.map((m) => [m.serverId, { roles: m.roles, monitoring: m.monitoring }])));

  const form = useForm<TopologyInput, unknown, TopologyValues>({
    resolver: zodResolver(TopologyInput),
    defaultValues: {
      name: initial?.name ?? "",
      balance: initial?.balance ?? "roundrobin",
      rolloutBatchSize: initial?.rolloutBatchSize ?? 5,
      failureBudget: initial?.failureBudget ?? 0,
      members: initialMembers,
    },
  });
  const errors = form.formState.errors;
  const members = (form.watch("members") ?? []) as Member[];

  /** Servers that belong to another topology (a server can be in one only). */
  const elsewhere = useMemo(() => {
    const map = new Map<string, string>();
    for (const t of topologies.data ?? []) if (t.id !== initial?.id) for (const m of t.members) map.set(m.serverId, t.name);
    return map;
  }, [topologies.data, initial?.id]);

  /** The members, in the server list's order: the checked servers. */
  const toMembers = (next: Rows): Member[] =>
    (servers.data ?? [])
      .filter((s) => (next[s.id]?.roles.length ?? 0) > 0)
      .map((s) => ({ serverId: s.id, roles: ROLES.filter((r) => next[s.id]!.roles.includes(r)), monitoring: next[s.id]!.monitoring }));

  const change = (serverId: string, fn: (row: Row) => Row) => {
    const next = { ...rows, [serverId]: fn(rows[serverId] ?? { roles: [], monitoring: true }) };
    setRows(next);
    form.setValue("members", toMembers(next), { shouldDirty: true, shouldValidate: form.formState.isSubmitted });
  };

  const fieldNames = () => [
    "name",
    "balance",
    "rolloutBatchSize",
    "failureBudget",
    "members",
    ...members.flatMap((_, i) => [`members.${i}`, `members.${i}.serverId`, `members.${i}.roles`, `members.${i}.monitoring`]),
  ];
  const opts = {
    onSuccess: (t: TopologyDto) => {
      void queryClient.invalidateQueries({ queryKey: trpc.topologies.list.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.topologies.get.queryKey({ id: t.id }) });
      if (onDone) onDone(t.id);
      else router.push(`/topology/${t.id}`);
    },
    onError: (e: { message: string }) => {
      setFormError(applyServerErrors(e, form.setError, fieldNames()) ? null : e.message);
    },
  };
  const create = useMutation(trpc.topologies.create.mutationOptions(opts));
  const update = useMutation(trpc.topologies.update.mutationOptions(opts));
  const pending = create.isPending || update.isPending;

  const submit = form.handleSubmit((v) => {
    setFormError(null);
    if (initial) update.mutate({ id: initial.id, ...v });
    else create.mutate(v);
  });

  const memberIndex = new Map(members.map((m, i) => [m.serverId, i]));
  const rowError = (serverId: string): string | undefined => {
    const i = memberIndex.get(serverId);
    if (i === undefined) return undefined;
    const e = errors.members?.[i];
    return e?.roles?.message ?? e?.serverId?.message ?? e?.monitoring?.message ?? e?.message;
  };
  const membersError = errors.members?.message ?? errors.members?.root?.message;

  return (
    <form onSubmit={submit} className="space-y-5" noValidate aria-label={initial ? "Edit topology" : "New topology"}>
      <FormError message={formError} />
      {canOperate ? null : <p className="text-sm text-slate-600">You can read this topology; only operators and admins can change it.</p>}
      {/* Viewers read the fields; they cannot edit them. */}
      <fieldset disabled={!canOperate} className="space-y-5">
        <div className="grid grid-cols-1 gap-4 md:grid-cols-2">
          <Field label="Site name" htmlFor="topology-name" error={errors.name?.message} hint="The DNS name the site answers to, e.g. www.example.com">
            <Input id="topology-name" autoComplete="off" spellCheck={false} aria-invalid={!!errors.name} {...form.register("name")} />
          </Field>
          <Field label="Balancing" htmlFor="topology-balance" error={errors.balance?.message} hint="How the load balancer spreads requests over the web servers">
            <Select id="topology-balance" aria-invalid={!!errors.balance} {...form.register("balance")}>
              {BALANCE_OPTIONS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Rollout batch size" htmlFor="topology-batch" error={errors.rolloutBatchSize?.message} hint="Within a tier, one server changes first, then this many at a time">
            <Input id="topology-batch" type="number" min={1} max={100} inputMode="numeric" aria-invalid={!!errors.rolloutBatchSize} {...form.register("rolloutBatchSize")} />
          </Field>
          <Field label="Failure budget" htmlFor="topology-budget" error={errors.failureBudget?.message} hint="How many servers may fail before the rollout stops (0: stop at the first failure)">
            <Input id="topology-budget" type="number" min={0} max={1000} inputMode="numeric" aria-invalid={!!errors.failureBudget} {...form.register("failureBudget")} />
          </Field>
        </div>

        <fieldset className="space-y-2">
          <legend className="text-sm font-medium text-slate-800">Servers and roles</legend>
          <p className="text-xs text-slate-500">
            Check the roles each server plays. A server with no role checked is not part of the topology. A load balancer needs web servers behind it, app servers need web servers in front, and
            database replicas need one primary. Nothing changes on the servers until you apply.
          </p>
          {servers.isPending ? (
            <p className="text-sm text-slate-500">Loading servers…</p>
          ) : servers.error ? (
            <p role="alert" className="text-sm text-rose-700">
              Could not load servers: {servers.error.message}
            </p>
          ) : servers.data.length === 0 ? (
            <p className="rounded-md border border-dashed border-slate-300 px-4 py-6 text-center text-sm text-slate-600">
              No servers are registered yet.{" "}
              <Link href="/servers" className="text-sky-700 underline">
                Add servers first
              </Link>
              , then give them roles here.
            </p>
          ) : (
            <TableScroll className="rounded-lg border border-slate-200">
              <table className="w-full text-left text-sm" aria-label="Servers and roles">
                <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                  <tr>
                    <th className="px-3 py-2 font-medium">Server</th>
                    {ROLES.map((r) => (
                      <th key={r} className="px-3 py-2 text-center font-medium">
                        {ROLE_LABELS[r]}
                      </th>
                    ))}
                    <th className="px-3 py-2 text-center font-medium">Monitoring</th>
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {servers.data.map((s) => {
                    const row = rows[s.id] ?? { roles: [], monitoring: true };
                    const member = row.roles.length > 0;
                    const other = elsewhere.get(s.id);
                    const disabled = !!other;
                    const error = rowError(s.id);
                    const errorId = `topology-row-${s.id}-error`;
                    const keyNote = s.hostKeyStatus !== "pinned" ? HOST_KEY_NOTES[s.hostKeyStatus] : undefined;
                    return (
                      <tr
                        key={s.id}
                        data-testid="topology-server-row"
                        data-server={s.name}
                        data-invalid={error ? "true" : undefined}
                        className={cn(member && "bg-sky-50/50", disabled && "bg-slate-50 text-slate-500", error && "bg-rose-50/60")}
                      >
                        <td className="px-3 py-2 align-top">
                          <div className={cn("font-medium", disabled ? "text-slate-500" : "text-slate-900")}>{s.name}</div>
                          <div className="font-mono text-xs text-slate-500">{s.address}</div>
                          {other ? <p className="mt-1 text-xs text-slate-500">In the topology {other}: a server can belong to one topology only.</p> : null}
                          {!other && keyNote && member ? (
                            <p className="mt-1 flex items-center gap-1 text-xs text-amber-700">
                              <AlertTriangle size={12} aria-hidden /> {keyNote}
                            </p>
                          ) : null}
                          {error ? (
                            <p id={errorId} role="alert" className="mt-1 text-xs text-rose-700">
                              {error}
                            </p>
                          ) : null}
                        </td>
                        {ROLES.map((r) => (
                          <td key={r} className="px-3 py-2 text-center align-top">
                            <input
                              type="checkbox"
                              className="h-4 w-4 accent-sky-600"
                              aria-label={`${r} on ${s.name}`}
                              aria-describedby={error ? errorId : undefined}
                              disabled={disabled}
                              checked={row.roles.includes(r)}
                              onChange={(e) => {
                                const on = e.currentTarget.checked;
                                change(s.id, (old) => ({ ...old, roles: on ? [...old.roles.filter((x) => x !== r), r] : old.roles.filter((x) => x !== r) }));
                              }}
                            />
                          </td>
                        ))}
                        <td className="px-3 py-2 text-center align-top">
                          <input
                            type="checkbox"
                            className="h-4 w-4 accent-sky-600"
                            aria-label={`monitoring on ${s.name}`}
                            title="Install the monitoring client on this server"
                            disabled={disabled}
                            checked={row.monitoring}
                            onChange={(e) => {
                              const on = e.currentTarget.checked;
                              change(s.id, (old) => ({ ...old, monitoring: on }));
                            }}
                          />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableScroll>
          )}
          {membersError ? (
            <p role="alert" className="text-xs text-rose-700">
              {membersError}
            </p>
          ) : (
            <p className="text-xs text-slate-500" data-testid="member-count">
              {members.length} server{members.length === 1 ? "" : "s"} in this topology
            </p>
          )}
        </fieldset>
      </fieldset>

      <div className="flex items-center gap-3">
        <Button type="submit" disabled={pending || !canOperate} title={canOperate ? undefined : "Only operators and admins can change topologies"}>
          {pending ? "Saving…" : initial ? "Save changes" : "Create topology"}
        </Button>
        {initial ? <span className="text-xs text-slate-500">Saving changes nothing on the servers: plan, then apply.</span> : null}
      </div>
    </form>
  );
}
