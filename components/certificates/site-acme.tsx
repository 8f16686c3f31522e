"use client";
// A site's certificate from an ACME CA: which account, extra names and key type;
// the renewal state (next attempt, last attempt and its outcome); and the actions:
// order (the first one), renew now, revoke and replace, stop using ACME. Orders
// are runs: the console follows them on the run's page.
import { useId, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { RefreshCw, ShieldCheck, Undo2 } from "lucide-react";
import { type AcmeAccountDto, type SiteAcmeDto, SetSiteAcmeInput } from "@/server/schemas/acme";
import type { CertificateDto } from "@/server/schemas/certificates";
import type { z } from "zod";
import { useTRPC } from "../trpc";
import { Badge } from "../ui/badge";
import { Button } from "../ui/button";
import { ConfirmDialog } from "../ui/confirm";
import { Field, FormError, Select } from "../ui/field";
import { Textarea } from "../ui/textarea";

type Certificate = z.infer<typeof CertificateDto>;
type Reason = "order" | "renew" | "replace";

const when = (d: Date | null) => (d ? d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—");

export function SiteAcme({
  topology,
  site,
  accounts,
  cert,
  canOperate,
}: {
  topology: { id: string; name: string };
  site: SiteAcmeDto | null;
  accounts: AcmeAccountDto[];
  cert: Certificate | null;
  canOperate: boolean;
}) {
  const [editing, setEditing] = useState(false);
  if (accounts.length === 0 && !site)
    return <p className="text-sm text-slate-600">To get a publicly trusted certificate for {topology.name} from an ACME CA, an admin first adds an ACME account (above).</p>;
  if (!site || editing) return <SiteAcmeForm topology={topology} site={site} accounts={accounts} canOperate={canOperate} onDone={() => setEditing(false)} />;
  return <SiteAcmeState topology={topology} site={site} cert={cert} canOperate={canOperate} onEdit={() => setEditing(true)} />;
}

function SiteAcmeState({ topology, site, cert, canOperate, onEdit }: { topology: { id: string; name: string }; site: SiteAcmeDto; cert: Certificate | null; canOperate: boolean; onEdit: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState<Reason | "remove" | null>(null);
  const order = useMutation(trpc.acme.order.mutationOptions({ onSuccess: (run) => router.push(`/runs/${run.id}`) }));
  const remove = useMutation(
    trpc.acme.removeSite.mutationOptions({
      onSuccess: () => {
        setConfirm(null);
        void queryClient.invalidateQueries({ queryKey: trpc.certificates.list.queryKey() });
      },
    }),
  );
  const fromAcme = cert?.source === "acme";
  const denied = canOperate ? undefined : "Only operators and admins can do this";
  const titles: Record<Reason, string> = {
    order: `Order a certificate for ${topology.name} from ${site.accountName}?`,
    renew: `Renew the certificate of ${topology.name} now?`,
    replace: `Revoke and replace the certificate of ${topology.name}?`,
  };
  const bodies: Record<Reason, string> = {
    order: `The load balancers answer the CA's HTTP-01 challenges (the topology is applied first if they do not yet), then the new certificate is deployed with a zero-downtime reload and checked on every load balancer.${cert ? ` It replaces the current ${cert.source === "uploaded" ? "uploaded" : "internal"} certificate.` : ""}`,
    renew: "A new certificate is ordered and deployed with a zero-downtime reload. If the order fails, the current certificate keeps serving.",
    replace: "A new certificate is ordered and deployed first; once every load balancer serves it, the current one is revoked at the CA. Use this when its key may be compromised.",
  };
  return (
    <div className="space-y-3" data-testid="site-acme" data-account={site.accountName}>
      <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1.5 text-sm">
        <dt className="text-slate-500">Account</dt>
        <dd className="text-slate-800">{site.accountName}</dd>
        <dt className="text-slate-500">Names</dt>
        <dd className="break-all font-mono text-xs text-slate-800">{[topology.name, ...site.extraNames].join(", ")}</dd>
        <dt className="text-slate-500">Key</dt>
        <dd className="text-slate-800">{site.keyType === "rsa-2048" ? "RSA 2048" : "ECDSA P-256"}</dd>
        {fromAcme ? (
          <>
            <dt className="text-slate-500">Next renewal</dt>
            <dd className="text-slate-800" data-testid="acme-next">
              {when(site.nextAttemptAt)}
              {site.ariWindow ? (
                <span className="text-xs text-slate-500">
                  {" "}
                  (inside the CA&apos;s window {when(site.ariWindow.start)} – {when(site.ariWindow.end)})
                </span>
              ) : null}
              {site.failures > 0 ? (
                <span className="text-xs text-amber-800">
                  {" "}
                  (a retry after {site.failures} failed attempt{site.failures === 1 ? "" : "s"})
                </span>
              ) : null}
            </dd>
          </>
        ) : null}
        <dt className="text-slate-500">Last attempt</dt>
        <dd className="text-slate-800" data-testid="acme-last" data-outcome={site.lastOutcome ?? "none"}>
          {site.lastAttemptAt ? (
            <>
              {when(site.lastAttemptAt)} <Badge tone={site.lastOutcome === "succeeded" ? "success" : "danger"}>{site.lastOutcome}</Badge>
              {site.lastRunId ? (
                <>
                  {" "}
                  <Link href={`/runs/${site.lastRunId}`} className="text-xs text-sky-700 underline">
                    its run
                  </Link>
                </>
              ) : null}
              {site.lastError ? <p className="mt-0.5 break-words text-xs text-rose-700">{site.lastError}</p> : null}
            </>
          ) : (
            "none yet"
          )}
        </dd>
      </dl>
      <FormError message={order.error?.message} />
      <div className="flex flex-wrap gap-2">
        {fromAcme ? (
          <>
            <Button type="button" disabled={!canOperate || order.isPending} title={denied} onClick={() => setConfirm("renew")}>
              <RefreshCw size={16} aria-hidden /> Renew now
            </Button>
            <Button type="button" variant="secondary" disabled={!canOperate || order.isPending} title={denied} onClick={() => setConfirm("replace")}>
              <ShieldCheck size={16} aria-hidden /> Revoke and replace
            </Button>
          </>
        ) : (
          <Button type="button" disabled={!canOperate || order.isPending} title={denied} onClick={() => setConfirm("order")}>
            <ShieldCheck size={16} aria-hidden /> Order certificate
          </Button>
        )}
        <Button type="button" variant="secondary" disabled={!canOperate} title={denied} onClick={onEdit}>
          Change
        </Button>
        <Button type="button" variant="secondary" disabled={!canOperate} title={denied} onClick={() => setConfirm("remove")}>
          <Undo2 size={16} aria-hidden /> Stop using ACME
        </Button>
      </div>
      {confirm && confirm !== "remove" ? (
        <ConfirmDialog
          open
          title={titles[confirm]}
          confirmLabel={confirm === "order" ? "Order certificate" : confirm === "renew" ? "Renew now" : "Revoke and replace"}
          tone={confirm === "replace" ? "danger" : "primary"}
          pending={order.isPending}
          error={order.error?.message}
          onConfirm={() => order.mutate({ topologyId: topology.id, reason: confirm })}
          onClose={() => setConfirm(null)}
        >
          <p>{bodies[confirm]}</p>
        </ConfirmDialog>
      ) : null}
      <ConfirmDialog
        open={confirm === "remove"}
        title={`Stop getting the certificate of ${topology.name} from ACME?`}
        confirmLabel="Stop using ACME"
        tone="danger"
        pending={remove.isPending}
        error={remove.error?.message}
        onConfirm={() => remove.mutate({ topologyId: topology.id })}
        onClose={() => setConfirm(null)}
      >
        <p>Nothing renews it any more. The current certificate keeps serving until you upload or issue another one, or it expires.</p>
      </ConfirmDialog>
    </div>
  );
}

function SiteAcmeForm({
  topology,
  site,
  accounts,
  canOperate,
  onDone,
}: {
  topology: { id: string; name: string };
  site: SiteAcmeDto | null;
  accounts: AcmeAccountDto[];
  canOperate: boolean;
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [accountId, setAccountId] = useState(site?.accountId ?? accounts[0]?.id ?? "");
  const [extra, setExtra] = useState((site?.extraNames ?? []).join("\n"));
  const [keyType, setKeyType] = useState<"ecdsa-p256" | "rsa-2048">(site?.keyType ?? "ecdsa-p256");
  const [errors, setErrors] = useState<{ accountId?: string; extraNames?: string; form?: string }>({});
  const save = useMutation(
    trpc.acme.setSite.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.certificates.list.queryKey() });
        onDone();
      },
      onError: (e) => {
        const fe = (e as { data?: { fieldErrors?: Record<string, string[]> | null } }).data?.fieldErrors ?? {};
        setErrors({ accountId: fe.accountId?.[0], extraNames: Object.entries(fe).find(([k]) => k.startsWith("extraNames"))?.[1][0], form: Object.keys(fe).length ? undefined : e.message });
      },
    }),
  );
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const names = extra
      .split(/[\s,]+/)
      .map((n) => n.trim())
      .filter(Boolean);
    const parsed = SetSiteAcmeInput.safeParse({ topologyId: topology.id, accountId, extraNames: names, keyType });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const which = issue.path[0] === "extraNames" ? "extraNames" : issue.path[0] === "accountId" ? "accountId" : "form";
      const name = issue.path[0] === "extraNames" && typeof issue.path[1] === "number" ? `${names[issue.path[1]]}: ` : "";
      setErrors({ [which]: `${name}${issue.message}` });
      return;
    }
    setErrors({});
    save.mutate(parsed.data);
  };
  return (
    <form onSubmit={submit} noValidate aria-label={`ACME for ${topology.name}`} className="space-y-3" data-testid="site-acme-form">
      <FormError message={errors.form} />
      <fieldset disabled={!canOperate} className="space-y-3">
        <Field label="ACME account" htmlFor={`${id}-account`} error={errors.accountId}>
          <Select id={`${id}-account`} value={accountId} onChange={(e) => setAccountId(e.target.value)} aria-invalid={!!errors.accountId}>
            {accounts.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name} ({a.directoryUrl})
              </option>
            ))}
          </Select>
        </Field>
        <Field
          label="More names (optional)"
          htmlFor={`${id}-names`}
          error={errors.extraNames}
          hint={`Besides ${topology.name}, e.g. www.${topology.name}; one per line. Each must resolve to the load balancers.`}
        >
          <Textarea id={`${id}-names`} rows={2} className="font-mono text-xs" value={extra} onChange={(e) => setExtra(e.target.value)} aria-invalid={!!errors.extraNames} spellCheck={false} />
        </Field>
        <Field label="Key type" htmlFor={`${id}-key`}>
          <Select id={`${id}-key`} value={keyType} onChange={(e) => setKeyType(e.target.value === "rsa-2048" ? "rsa-2048" : "ecdsa-p256")}>
            <option value="ecdsa-p256">ECDSA P-256 (recommended)</option>
            <option value="rsa-2048">RSA 2048 (for old clients)</option>
          </Select>
        </Field>
      </fieldset>
      <div className="flex flex-wrap gap-2">
        <Button type="submit" disabled={!canOperate || save.isPending} title={canOperate ? undefined : "Only operators and admins can do this"}>
          {save.isPending ? "Saving…" : "Use this account"}
        </Button>
        {site ? (
          <Button type="button" variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        ) : null}
      </div>
      <p className="text-xs text-slate-500">Saving orders nothing yet: order the certificate once the site&apos;s names point at its load balancers.</p>
    </form>
  );
}
