"use client";
import { useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ShieldAlert, Stethoscope, Trash2 } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { FormError } from "../ui/field";
import { HostKeyBadge } from "./host-key-badge";
import { ServerForm } from "./server-form";
import { formatTime } from "../runs/time";
import { ServerCharts } from "../monitoring/monitoring-view";
import { sshAdvice } from "@/server/schemas/ssh-advice";
import { useConfirm } from "../ui/use-confirm";

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export function ServerDetail({ id }: { id: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const isAdmin = useCan("admin");
  const [editing, setEditing] = useState(false);
  const [knownHosts, setKnownHosts] = useState("");
  const server = useQuery({ ...trpc.servers.get.queryOptions({ id }), refetchInterval: 5000 });
  const topologies = useQuery(trpc.topologies.list.queryOptions());
  const memberOf = (topologies.data ?? []).filter((t) => t.members.some((m) => m.serverId === id));
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.servers.get.queryKey({ id }) });
  const check = useMutation(trpc.servers.check.mutationOptions({ onSuccess: (run) => router.push(`/runs/${run.id}`) }));
  const accept = useMutation(trpc.servers.acceptHostKey.mutationOptions({ onSuccess: () => void refresh() }));
  const repin = useMutation(trpc.servers.repinHostKey.mutationOptions({ onSuccess: () => void refresh() }));
  const pin = useMutation(
    trpc.servers.pinHostKey.mutationOptions({
      onSuccess: () => {
        setKnownHosts("");
        void refresh();
      },
    }),
  );
  const del = useMutation(trpc.servers.delete.mutationOptions({ onSuccess: () => router.push("/servers") }));
  const confirm = useConfirm();

  if (server.error)
    return (
      <p role="alert" className="text-sm text-rose-700">
        {server.error.message}
      </p>
    );
  const s = server.data;
  if (!s) return <p className="text-sm text-slate-500">Loading…</p>;
  const actionError = check.error ?? accept.error ?? repin.error ?? pin.error ?? del.error;

  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <h1 className="text-xl font-semibold tracking-tight text-slate-900">{s.name}</h1>
          <p className="font-mono text-sm text-slate-500">
            {s.user}@{s.address}:{s.port} · key {s.sshKeyName} {s.labels.length ? `· ${s.labels.join(", ")}` : ""}
          </p>
        </div>
        <div className="flex gap-2">
          <Button onClick={() => check.mutate({ ids: [s.id] })} disabled={!canOperate || check.isPending}>
            <Stethoscope size={16} aria-hidden /> Check
          </Button>
          <Button variant="secondary" onClick={() => setEditing((e) => !e)} disabled={!canOperate}>
            {editing ? "Cancel" : "Edit"}
          </Button>
          <Button
            variant="danger"
            disabled={!canOperate || del.isPending}
            onClick={() => {
              confirm.ask({
                title: `Remove ${s.name} from Rampart?`,
                body: "Rampart forgets this server, its host key and facts. Nothing on the server itself changes.",
                confirmLabel: "Remove server",
                action: () => del.mutate({ id: s.id }),
              });
            }}
          >
            <Trash2 size={16} aria-hidden /> Remove
          </Button>
        </div>
      </div>
      <FormError message={actionError?.message} />
      {confirm.dialog}
      {memberOf.length > 0 ? (
        <ul className="flex flex-wrap gap-x-6 gap-y-1 text-sm text-slate-600" aria-label="Topologies">
          {memberOf.map((t) => (
            <li key={t.id}>
              In{" "}
              <Link href={`/topology/${t.id}`} className="text-sky-700 underline">
                {t.name}
              </Link>{" "}
              as {t.members.find((m) => m.serverId === id)!.roles.join(", ") || "no role"} ·{" "}
              <Link href={`/firewall/${t.id}/${id}`} className="text-sky-700 underline">
                its firewall
              </Link>
            </li>
          ))}
        </ul>
      ) : null}

      {editing ? (
        <Card>
          <CardHeader title="Edit server" description="Changing the address or port forgets the pinned host key: it must be accepted again." />
          <div className="p-4">
            <ServerForm initial={s} onDone={() => setEditing(false)} />
          </div>
        </Card>
      ) : null}

      <Card>
        <CardHeader title="Host key" description="Rampart only talks to this server if it presents the pinned key, checked before logging in." actions={<HostKeyBadge status={s.hostKeyStatus} />} />
        <div className="space-y-3 p-4 text-sm" data-testid="host-key-panel">
          {s.hostKeyStatus === "pinned" ? (
            <p>
              Pinned:{" "}
              <code className="font-mono break-all" data-testid="pinned-fingerprint">
                {s.hostKeyFingerprint}
              </code>
            </p>
          ) : null}
          {s.hostKeyStatus === "pending" && s.presentedFingerprint ? (
            <>
              <p>
                On first contact ({formatTime(s.presentedAt)}) the server presented{" "}
                <code className="font-mono font-semibold" data-testid="presented-fingerprint">
                  {s.presentedFingerprint}
                </code>
                . Compare it with the server's own: <code className="font-mono text-xs">ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code>
              </p>
              <Button
                disabled={!canOperate || accept.isPending}
                onClick={() => {
                  confirm.ask({
                    title: `Trust this host key for ${s.name}?`,
                    body: `${s.presentedFingerprint}: Rampart will talk to ${s.name} only while it presents this key. Compare it with the server's own first.`,
                    confirmLabel: "Accept host key",
                    tone: "primary",
                    action: () => accept.mutate({ id: s.id, fingerprint: s.presentedFingerprint! }),
                  });
                }}
              >
                Accept this host key
              </Button>
            </>
          ) : null}
          {s.hostKeyStatus === "mismatch" && s.presentedFingerprint ? (
            <div className="space-y-3 rounded-md border border-rose-300 bg-rose-50 p-3 text-rose-900" role="alert">
              <p className="flex items-center gap-2 font-semibold">
                <ShieldAlert size={16} aria-hidden /> The host key changed. Rampart stopped before logging in and ran nothing.
              </p>
              <dl className="grid grid-cols-[8rem_1fr] gap-1 font-mono text-xs">
                <dt>Pinned</dt>
                <dd data-testid="expected-fingerprint">{s.hostKeyFingerprint}</dd>
                <dt>Now presented</dt>
                <dd data-testid="presented-fingerprint">{s.presentedFingerprint}</dd>
                <dt>Seen at</dt>
                <dd>{formatTime(s.presentedAt)}</dd>
              </dl>
              <p>If the server was reinstalled or its keys regenerated, an admin can re-pin. Otherwise someone may be intercepting the connection.</p>
              {isAdmin ? (
                <Button
                  variant="danger"
                  disabled={repin.isPending}
                  onClick={() => {
                    confirm.ask({
                      title: `Re-pin ${s.name}'s host key?`,
                      body: `${s.hostKeyFingerprint} is replaced with ${s.presentedFingerprint}. Do this only if the server was reinstalled or its keys regenerated.`,
                      confirmLabel: "Re-pin host key",
                      action: () => repin.mutate({ id: s.id, fingerprint: s.presentedFingerprint! }),
                    });
                  }}
                >
                  Re-pin to the new key
                </Button>
              ) : (
                <p className="text-xs">Only an admin can re-pin a changed key.</p>
              )}
            </div>
          ) : null}
          {s.hostKeyStatus === "unknown" ? <p>Not contacted yet: run a check to see the key the server presents, or pin a key you already know.</p> : null}
          {s.hostKeyStatus !== "mismatch" && canOperate ? (
            <details className="text-sm">
              <summary className="cursor-pointer text-slate-600">Pin a known key (a known_hosts line)</summary>
              <div className="mt-2 space-y-2">
                <textarea
                  aria-label="known_hosts line"
                  className="block h-20 w-full rounded-md border border-slate-300 p-2 font-mono text-xs"
                  placeholder="10.0.0.5 ssh-ed25519 AAAAC3Nza…   (from ssh-keyscan or ~/.ssh/known_hosts)"
                  value={knownHosts}
                  onChange={(e) => setKnownHosts(e.target.value)}
                />
                <Button variant="secondary" disabled={!knownHosts.trim() || pin.isPending} onClick={() => pin.mutate({ id: s.id, knownHostsLine: knownHosts })}>
                  Pin this key
                </Button>
              </div>
            </details>
          ) : null}
        </div>
      </Card>

      <Card>
        <CardHeader title="Facts" description={s.factsAt ? `Read ${formatTime(s.factsAt)}` : "Not read yet: run a check."} />
        {s.lastCheckError ? (
          <div className="border-b border-slate-100 px-4 py-2 text-sm" data-testid="last-check-error">
            <p className="text-rose-700">Last check failed: {s.lastCheckError}</p>
            <ConnectionAdvice error={s.lastCheckError} server={s} />
          </div>
        ) : null}
        {s.facts ? (
          <dl className="grid grid-cols-1 gap-x-8 gap-y-2 p-4 text-sm md:grid-cols-2" data-testid="facts">
            <div className="flex justify-between gap-4">
              <dt className="text-slate-500">Operating system</dt>
              <dd>{s.facts.os.pretty}</dd>
            </div>
            <div className="flex justify-between gap-4">
              <dt className="text-slate-500">Kernel</dt>
              <dd className="font-mono text-xs">{s.facts.kernel}</dd>
            </div>
            <div className="flex justify-between gap-4">
              <dt className="text-slate-500">CPUs</dt>
              <dd>{s.facts.cpus}</dd>
            </div>
            <div className="flex justify-between gap-4">
              <dt className="text-slate-500">Memory</dt>
              <dd>{gib(s.facts.memoryBytes)}</dd>
            </div>
            <div className="flex justify-between gap-4">
              <dt className="text-slate-500">Disk (/)</dt>
              <dd>
                {gib(s.facts.disk.freeBytes)} free of {gib(s.facts.disk.totalBytes)}
              </dd>
            </div>
            <div className="flex justify-between gap-4">
              <dt className="text-slate-500">systemd</dt>
              <dd>{s.facts.systemd}</dd>
            </div>
            {Object.entries(s.facts.packages).map(([name, version]) => (
              <div key={name} className="flex justify-between gap-4">
                <dt className="text-slate-500">{name}</dt>
                <dd className="font-mono text-xs">{version ?? "not installed"}</dd>
              </div>
            ))}
          </dl>
        ) : null}
      </Card>

      {memberOf.length > 0 ? <ServerCharts serverId={s.id} /> : null}
    </div>
  );
}

/** What a connection failure means, what to check, and the command that installs the key when the server refused it. */
function ConnectionAdvice({ error, server: s }: { error: string; server: { address: string; port: number; user: string; sshKeyId: string; sshKeyName: string } }) {
  const trpc = useTRPC();
  const keys = useQuery(trpc.sshKeys.list.queryOptions());
  const key = keys.data?.find((k) => k.id === s.sshKeyId);
  const advice = sshAdvice(error, { address: s.address, port: s.port, user: s.user, keyName: s.sshKeyName, installCommand: key?.installCommand ?? null });
  if (!advice) return null;
  return (
    <div className="mt-2 space-y-1 text-slate-700" data-testid="connection-advice">
      <p className="font-medium">{advice.meaning}</p>
      <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">Check</p>
      <ul className="list-disc space-y-0.5 pl-5">
        {advice.checks.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ul>
      {advice.command ? (
        <>
          <p className="text-xs font-semibold uppercase tracking-wide text-slate-500">On the server, as {s.user}</p>
          <pre tabIndex={0} className="relative overflow-x-auto rounded-md bg-slate-950 px-3 py-2 font-mono text-xs text-slate-100" data-testid="install-key-command">
            {advice.command}
          </pre>
        </>
      ) : null}
    </div>
  );
}
