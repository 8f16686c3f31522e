"use client";
// A topology's firewall: the settings, the operator's rules (with a form), each
// server's effective rules and rendered rule set, the reachability matrix from the
// last plan or apply, and the rollbacks the hosts performed.
import { useState } from "react";
import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Pencil, Plus, Trash2 } from "lucide-react";
import { FirewallSettingsInput, type FirewallRuleDto, type FirewallViewDto } from "@/server/schemas/firewall";
import { ROLE_LABELS, Role } from "@/server/schemas/topology";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Badge } from "../ui/badge";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { ConfirmDialog } from "../ui/confirm";
import { Field, FormError } from "../ui/field";
import { Textarea } from "../ui/textarea";
import { ReachabilityMatrix } from "./reachability-matrix";
import { EffectiveRules, RollbackHistory } from "./firewall-parts";
import { RuleForm, type ServerChoice } from "./rule-form";
import { TableScroll } from "../ui/table-scroll";

export function FirewallView({ topologyId }: { topologyId: string }) {
  const trpc = useTRPC();
  const canOperate = useCan("operate");
  const fw = useQuery({ ...trpc.firewall.get.queryOptions({ id: topologyId }), refetchInterval: 15_000 });
  const topology = useQuery(trpc.topologies.get.queryOptions({ id: topologyId }));
  const servers = useQuery(trpc.servers.list.queryOptions());
  const [adding, setAdding] = useState(false);

  const error = fw.error ?? topology.error;
  if (error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {error.message}
      </p>
    );
  const f = fw.data;
  const t = topology.data;
  if (!f || !t) return <p className="text-sm text-slate-500">Loading the firewall…</p>;
  const members: ServerChoice[] = f.servers.map((s) => ({ id: s.serverId, name: s.name }));
  const all: ServerChoice[] = (servers.data ?? []).map((s) => ({ id: s.id, name: s.name }));
  const names = new Map(all.map((s) => [s.id, s.name]));

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-xl font-semibold tracking-tight text-slate-900">Firewall · {t.name}</h1>
          <p className="mt-1 text-sm text-slate-600">
            An nftables table of Rampart&apos;s own (<code>inet rampart</code>) on every server: inbound traffic dropped unless a role or a rule lets it in. Changes take effect with the next{" "}
            <Link href={`/topology/${t.id}`} className="text-sky-700 underline">
              apply
            </Link>
            ; each host rolls back by itself unless Rampart gets back in over a new SSH connection.
          </p>
        </div>
        <Badge tone={f.enabled ? "success" : "warning"}>{f.enabled ? "firewall on" : "firewall off"}</Badge>
      </div>

      <SettingsCard view={f} canOperate={canOperate} />

      <Card>
        <CardHeader title="Reachability" description="Every port the topology uses, from the control plane and from each server: what the policy intends against what a TCP connect found." />
        <div className="p-4">
          <ReachabilityMatrix reachability={f.reachability} />
        </div>
      </Card>

      <Card>
        <CardHeader
          title="Operator rules"
          description="Your rules, on top of the role defaults. Drop rules come before every accept; accept rules after the role defaults."
          actions={
            canOperate ? (
              <Button variant="secondary" onClick={() => setAdding((a) => !a)}>
                <Plus size={16} aria-hidden /> {adding ? "Close" : "Add rule"}
              </Button>
            ) : undefined
          }
        />
        <div className="space-y-4 p-4">
          {adding ? (
            <div className="rounded-md border border-slate-200 p-4">
              <RuleForm topologyId={topologyId} members={members} servers={all} onDone={() => setAdding(false)} />
            </div>
          ) : null}
          <RulesTable topologyId={topologyId} rules={f.rules} names={names} members={members} servers={all} canOperate={canOperate} />
        </div>
      </Card>

      <section aria-labelledby="fw-servers" className="space-y-3">
        <h2 id="fw-servers" className="text-base font-semibold text-slate-900">
          Servers
        </h2>
        {f.servers.map((s) => (
          <Card key={s.serverId} role="region" aria-label={`Firewall of ${s.name}`}>
            <CardHeader
              title={
                <Link href={`/firewall/${topologyId}/${s.serverId}`} className="hover:underline">
                  {s.name}
                </Link>
              }
              description={
                <>
                  {s.address}
                  {s.ips.length && s.ips.join() !== s.address ? ` → ${s.ips.join(", ")}` : ""}
                  {s.ips.length === 0 ? " (does not resolve: its rules name nobody)" : ""}
                </>
              }
            />
            <div className="p-4">
              <EffectiveRules server={s} firewallOn={f.enabled} />
            </div>
          </Card>
        ))}
      </section>

      <Card>
        <CardHeader title="Rollbacks" description="Rule sets a host restored by itself because Rampart could not confirm them over a new SSH connection." />
        <div className="p-4">
          <RollbackHistory events={f.events} />
        </div>
      </Card>
    </div>
  );
}

function SettingsCard({ view, canOperate }: { view: FirewallViewDto; canOperate: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [enabled, setEnabled] = useState(view.enabled);
  const [networks, setNetworks] = useState(view.adminNetworks.join("\n"));
  const [fieldError, setFieldError] = useState<string | null>(null);
  const [confirmOff, setConfirmOff] = useState(false);
  const [saved, setSaved] = useState(false);
  const save = useMutation(
    trpc.firewall.setSettings.mutationOptions({
      onSuccess: (v) => {
        queryClient.setQueryData(trpc.firewall.get.queryKey({ id: view.topologyId }), v);
        setConfirmOff(false);
        setSaved(true);
      },
    }),
  );
  const lines = networks
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter(Boolean);
  const submit = () => {
    setSaved(false);
    const parsed = FirewallSettingsInput.safeParse({ enabled, adminNetworks: lines });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const i = issue.path[1];
      setFieldError(typeof i === "number" ? `${lines[i]}: ${issue.message}` : issue.message);
      return;
    }
    setFieldError(null);
    if (view.enabled && !enabled) setConfirmOff(true);
    else save.mutate({ topologyId: view.topologyId, ...parsed.data });
  };

  return (
    <Card>
      <CardHeader title="Settings" description={`SSH is always open to the control plane (${view.controlPlane.join(", ") || "learned at the first plan"}) and to the admin networks below.`} />
      <form
        className="space-y-4 p-4"
        aria-label="Firewall settings"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <FormError message={save.error?.message} />
        <label className="flex items-center gap-2 text-sm text-slate-800">
          <input type="checkbox" className="h-4 w-4 rounded border-slate-300" checked={enabled} disabled={!canOperate} onChange={(e) => setEnabled(e.target.checked)} />
          Rampart manages a firewall on every server of this topology
        </label>
        <Field
          label="Admin networks"
          htmlFor="fw-admin-networks"
          error={fieldError ?? undefined}
          hint="One address or network per line (a VPN, a bastion): SSH is allowed from these besides the control plane."
        >
          <Textarea id="fw-admin-networks" rows={3} className="font-mono" aria-invalid={!!fieldError} value={networks} readOnly={!canOperate} onChange={(e) => setNetworks(e.target.value)} />
        </Field>
        {canOperate ? (
          <div className="flex items-center gap-3">
            <Button type="submit" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save settings"}
            </Button>
            {saved ? <span className="text-sm text-emerald-700">Saved: the next apply puts it in place.</span> : null}
          </div>
        ) : null}
      </form>
      <ConfirmDialog
        open={confirmOff}
        title="Turn the firewall off?"
        confirmLabel="Turn off"
        pending={save.isPending}
        error={save.error?.message}
        onClose={() => setConfirmOff(false)}
        onConfirm={() => save.mutate({ topologyId: view.topologyId, enabled: false, adminNetworks: lines })}
      >
        The next apply removes Rampart&apos;s nftables table from every server of this topology: every port they listen on becomes reachable from anywhere.
      </ConfirmDialog>
    </Card>
  );
}

function describe(r: FirewallRuleDto, names: Map<string, string>): { where: string; peer: string } {
  const role = (v: string | null) => (Role.safeParse(v).success ? ROLE_LABELS[v as Role] : (v ?? "?"));
  const where = r.scope === "topology" ? "every server" : r.scope === "role" ? `${role(r.scopeValue)} servers` : (names.get(r.scopeValue ?? "") ?? "a removed server");
  const peer =
    r.peer === "anywhere"
      ? "anywhere"
      : r.peer === "control-plane"
        ? "the control plane"
        : r.peer === "cidr"
          ? (r.peerValue ?? "")
          : r.peer === "role"
            ? `${role(r.peerValue)} servers`
            : (names.get(r.peerValue ?? "") ?? "a removed server");
  return { where, peer };
}

function RulesTable({
  topologyId,
  rules,
  names,
  members,
  servers,
  canOperate,
}: {
  topologyId: string;
  rules: FirewallRuleDto[];
  names: Map<string, string>;
  members: ServerChoice[];
  servers: ServerChoice[];
  canOperate: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<FirewallRuleDto | null>(null);
  const del = useMutation(
    trpc.firewall.deleteRule.mutationOptions({
      onSuccess: () => {
        setDeleting(null);
        void queryClient.invalidateQueries({ queryKey: trpc.firewall.get.queryKey({ id: topologyId }) });
      },
    }),
  );
  if (rules.length === 0) return <p className="text-sm text-slate-500">No operator rules: the servers accept only what their roles need, and SSH from the control plane and admin networks.</p>;
  return (
    <>
      <TableScroll>
        <table className="min-w-full text-sm" aria-label="Operator rules">
          <thead className="text-left text-xs text-slate-500">
            <tr>
              <th className="py-1 pr-3 font-medium">Name</th>
              <th className="py-1 pr-3 font-medium">On</th>
              <th className="py-1 pr-3 font-medium">Rule</th>
              <th className="py-1 pr-3 font-medium">Comment</th>
              <th className="py-1 pr-3 font-medium">State</th>
              <th className="py-1 font-medium">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-slate-100">
            {rules.map((r) => {
              const d = describe(r, names);
              const ports = r.portTo !== null && r.portTo !== r.portFrom ? `${r.portFrom}-${r.portTo}` : String(r.portFrom);
              return editing === r.id ? (
                <tr key={r.id}>
                  <td colSpan={6} className="py-3">
                    <RuleForm topologyId={topologyId} initial={r} members={members} servers={servers} onDone={() => setEditing(null)} />
                  </td>
                </tr>
              ) : (
                <tr key={r.id} data-testid="operator-rule" data-name={r.name}>
                  <td className="py-1.5 pr-3 font-medium text-slate-900">{r.name}</td>
                  <td className="py-1.5 pr-3">{d.where}</td>
                  <td className="py-1.5 pr-3 font-mono text-xs">
                    <span className={r.action === "drop" ? "text-rose-700" : ""}>{r.action}</span> {r.direction === "in" ? "in" : "out"} {ports}/{r.protocol} {r.direction === "in" ? "from" : "to"}{" "}
                    {d.peer}
                  </td>
                  <td className="py-1.5 pr-3 text-xs text-slate-600">{r.comment}</td>
                  <td className="py-1.5 pr-3">{r.enabled ? <Badge tone="success">enabled</Badge> : <Badge>disabled</Badge>}</td>
                  <td className="py-1.5 text-right whitespace-nowrap">
                    {canOperate ? (
                      <>
                        <Button variant="secondary" className="px-2 py-1" aria-label={`Edit ${r.name}`} onClick={() => setEditing(r.id)}>
                          <Pencil size={14} aria-hidden />
                        </Button>{" "}
                        <Button variant="secondary" className="px-2 py-1" aria-label={`Delete ${r.name}`} onClick={() => setDeleting(r)}>
                          <Trash2 size={14} aria-hidden />
                        </Button>
                      </>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableScroll>
      <ConfirmDialog
        open={!!deleting}
        title={`Delete the rule ${deleting?.name ?? ""}?`}
        confirmLabel="Delete rule"
        pending={del.isPending}
        error={del.error?.message}
        onClose={() => setDeleting(null)}
        onConfirm={() => deleting && del.mutate({ ruleId: deleting.id })}
      >
        The rule leaves every server&apos;s rule set with the next apply.
      </ConfirmDialog>
    </>
  );
}
