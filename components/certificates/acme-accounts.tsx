"use client";
// ACME accounts: the CAs Rampart orders publicly trusted certificates from. Admins
// create one (directory, contact, the CA's terms read and accepted explicitly,
// External Account Binding when the CA asks for it, the CA behind a private ACME
// server's HTTPS) or forget one no site uses. The account key never leaves the server.
import { useId, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { BookOpenCheck, Plus, Trash2 } from "lucide-react";
import { ACME_DIRECTORIES, type AcmeAccountDto, CreateAcmeAccountInput } from "@/server/schemas/acme";
import { useTRPC } from "../trpc";
import { Badge } from "../ui/badge";
import { Button } from "../ui/button";
import { Card } from "../ui/card";
import { ConfirmDialog } from "../ui/confirm";
import { Field, FormError, Input, Select } from "../ui/field";
import { Textarea } from "../ui/textarea";
import { TableScroll } from "../ui/table-scroll";

export function AcmeAccounts({ accounts, canAdmin }: { accounts: AcmeAccountDto[]; canAdmin: boolean }) {
  const [creating, setCreating] = useState(false);
  return (
    <section aria-labelledby="acme-accounts-heading" className="space-y-3" data-testid="acme-accounts">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h2 id="acme-accounts-heading" className="text-base font-semibold text-slate-900">
            ACME accounts
          </h2>
          <p className="mt-0.5 text-sm text-slate-600">
            Certificate authorities that issue publicly trusted certificates (Let&apos;s Encrypt, ZeroSSL, or your own ACME server). The load balancers answer their HTTP-01 challenges; a site chooses
            its account below.
          </p>
        </div>
        {canAdmin && !creating ? (
          <Button type="button" variant="secondary" onClick={() => setCreating(true)}>
            <Plus size={16} aria-hidden /> Add an ACME account
          </Button>
        ) : null}
      </div>
      {creating ? <CreateAccountForm onDone={() => setCreating(false)} /> : null}
      {accounts.length === 0 ? (
        <p className="text-sm text-slate-600" data-testid="acme-accounts-none">
          No ACME account yet.{canAdmin ? "" : " An admin can add one."}
        </p>
      ) : (
        <Card>
          <TableScroll>
            <table className="w-full text-left text-sm">
              <thead className="border-b border-slate-100 text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="px-4 py-2 font-semibold">Account</th>
                  <th className="px-4 py-2 font-semibold">Directory</th>
                  <th className="px-4 py-2 font-semibold">Contact</th>
                  <th className="px-4 py-2 font-semibold">Terms accepted</th>
                  <th className="px-4 py-2 font-semibold">Sites</th>
                  <th className="px-4 py-2" />
                </tr>
              </thead>
              <tbody>
                {accounts.map((a) => (
                  <AccountRow key={a.id} account={a} canAdmin={canAdmin} />
                ))}
              </tbody>
            </table>
          </TableScroll>
        </Card>
      )}
    </section>
  );
}

function AccountRow({ account: a, canAdmin }: { account: AcmeAccountDto; canAdmin: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const del = useMutation(
    trpc.acme.deleteAccount.mutationOptions({
      onSuccess: () => {
        setConfirm(false);
        void queryClient.invalidateQueries({ queryKey: trpc.acme.accounts.queryKey() });
      },
    }),
  );
  return (
    <tr className="border-b border-slate-50 last:border-0" data-testid="acme-account" data-name={a.name}>
      <td className="px-4 py-2 font-medium text-slate-900">
        {a.name} {a.privateCa ? <Badge tone="neutral">private CA</Badge> : null}
        {a.eabKeyId ? <Badge tone="neutral">EAB</Badge> : null}
      </td>
      <td className="break-all px-4 py-2 font-mono text-xs text-slate-700">{a.directoryUrl}</td>
      <td className="px-4 py-2 text-xs text-slate-700">{a.contact.map((c) => c.replace(/^mailto:/, "")).join(", ") || "—"}</td>
      <td className="px-4 py-2 text-xs text-slate-700">
        {a.termsAgreedAt.toLocaleDateString(undefined, { dateStyle: "medium" })} by {a.createdBy}
        {a.termsUrl && /^https?:/.test(a.termsUrl) ? (
          <>
            {" "}
            (
            <a href={a.termsUrl} target="_blank" rel="noreferrer" className="text-sky-700 underline">
              terms
            </a>
            )
          </>
        ) : null}
      </td>
      <td className="px-4 py-2 font-mono text-xs text-slate-700">{a.sites.map((s) => s.name).join(", ") || "—"}</td>
      <td className="px-4 py-2 text-right">
        {canAdmin ? (
          <Button
            type="button"
            variant="secondary"
            disabled={a.sites.length > 0}
            title={a.sites.length > 0 ? "Sites use this account: choose another account for them first" : `Forget the account ${a.name}`}
            onClick={() => {
              del.reset();
              setConfirm(true);
            }}
          >
            <Trash2 size={14} aria-hidden /> Forget
          </Button>
        ) : null}
        <ConfirmDialog
          open={confirm}
          title={`Forget the ACME account ${a.name}?`}
          confirmLabel="Forget account"
          tone="danger"
          pending={del.isPending}
          error={del.error?.message}
          onConfirm={() => del.mutate({ id: a.id })}
          onClose={() => setConfirm(false)}
        >
          <p>Rampart deletes its key. The account stays registered with the CA; certificates it issued keep serving until replaced.</p>
        </ConfirmDialog>
      </td>
    </tr>
  );
}

type Errors = Partial<Record<"name" | "directoryUrl" | "contact" | "acceptTerms" | "eab" | "trustPem" | "form", string>>;

function CreateAccountForm({ onDone }: { onDone: () => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [preset, setPreset] = useState<string>(ACME_DIRECTORIES[0].url);
  const [custom, setCustom] = useState("");
  const [name, setName] = useState("");
  const [contact, setContact] = useState("");
  const [trustPem, setTrustPem] = useState("");
  const [useEab, setUseEab] = useState(false);
  const [eab, setEab] = useState({ kid: "", hmacKey: "" });
  const [accept, setAccept] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const directoryUrl = preset === "custom" ? custom.trim() : preset;
  const directory = useMutation(trpc.acme.directory.mutationOptions());
  const create = useMutation(
    trpc.acme.createAccount.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.acme.accounts.queryKey() });
        onDone();
      },
      onError: (e) => {
        const fe = (e as { data?: { fieldErrors?: Record<string, string[]> | null } }).data?.fieldErrors ?? {};
        const next: Errors = {};
        for (const [k, v] of Object.entries(fe)) if (v[0]) next[(k.split(".")[0] as keyof Errors) ?? "form"] = v[0];
        setErrors(Object.keys(next).length ? next : { form: e.message });
      },
    }),
  );
  // Reading the directory again whenever the URL or trust changes: the terms shown are the ones accepted.
  const terms = directory.data && directory.variables?.directoryUrl === directoryUrl && directory.variables?.trustPem === trustPem.trim() ? directory.data : null;

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const input = {
      name,
      directoryUrl,
      contact: contact
        .split(/[\s,]+/)
        .map((c) => c.trim())
        .filter(Boolean),
      acceptTerms: accept,
      eab: useEab || terms?.externalAccountRequired ? eab : null,
      trustPem,
    };
    const parsed = CreateAcmeAccountInput.safeParse(input);
    if (!parsed.success) {
      const next: Errors = {};
      for (const issue of parsed.error.issues) {
        const key = String(issue.path[0] ?? "form") as keyof Errors;
        next[key] ??= issue.message;
      }
      setErrors(next);
      return;
    }
    setErrors({});
    create.mutate(parsed.data);
  };

  return (
    <Card>
      <form onSubmit={submit} noValidate aria-label="Add an ACME account" className="space-y-4 p-4" data-testid="acme-account-form">
        <FormError message={errors.form} />
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
          <Field label="Name" htmlFor={`${id}-name`} error={errors.name} hint="How Rampart names it, e.g. letsencrypt.">
            <Input id={`${id}-name`} value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!errors.name} autoComplete="off" />
          </Field>
          <Field label="Certificate authority" htmlFor={`${id}-preset`}>
            <Select id={`${id}-preset`} value={preset} onChange={(e) => setPreset(e.target.value)}>
              {ACME_DIRECTORIES.map((d) => (
                <option key={d.url} value={d.url}>
                  {d.label}
                </option>
              ))}
              <option value="custom">Another ACME server (directory URL)</option>
            </Select>
          </Field>
          {preset === "custom" ? (
            <Field label="Directory URL" htmlFor={`${id}-url`} error={errors.directoryUrl} hint="The CA's ACME directory, https://…/directory">
              <Input id={`${id}-url`} value={custom} onChange={(e) => setCustom(e.target.value)} aria-invalid={!!errors.directoryUrl} placeholder="https://acme.example.com/directory" />
            </Field>
          ) : errors.directoryUrl ? (
            <p role="alert" className="text-xs text-rose-700">
              {errors.directoryUrl}
            </p>
          ) : null}
          <Field label="Contact e-mail" htmlFor={`${id}-contact`} error={errors.contact} hint="Where the CA writes about expiring certificates or problems (optional; several separated by commas).">
            <Input id={`${id}-contact`} value={contact} onChange={(e) => setContact(e.target.value)} aria-invalid={!!errors.contact} type="text" autoComplete="email" />
          </Field>
        </div>
        <Field
          label="CA certificate of a private ACME server (optional)"
          htmlFor={`${id}-trust`}
          error={errors.trustPem}
          hint="Only for an ACME server whose own HTTPS certificate is signed by a private CA; public CAs need nothing here."
        >
          <Textarea id={`${id}-trust`} rows={3} className="font-mono text-xs" spellCheck={false} value={trustPem} onChange={(e) => setTrustPem(e.target.value)} aria-invalid={!!errors.trustPem} />
        </Field>
        <div className="space-y-2 rounded-md border border-slate-200 p-3">
          <div className="flex flex-wrap items-center gap-3">
            <Button type="button" variant="secondary" disabled={!directoryUrl || directory.isPending} onClick={() => directory.mutate({ directoryUrl, trustPem: trustPem.trim() })}>
              <BookOpenCheck size={16} aria-hidden /> {directory.isPending ? "Reading…" : "Read the CA's terms"}
            </Button>
            {directory.error ? (
              <span role="alert" className="text-xs text-rose-700">
                {directory.error.message}
              </span>
            ) : null}
          </div>
          {terms ? (
            <div className="text-sm text-slate-700" data-testid="acme-terms">
              {terms.termsOfService ? (
                <p>
                  Terms of service:{" "}
                  {/^https?:/.test(terms.termsOfService) ? (
                    <a href={terms.termsOfService} target="_blank" rel="noreferrer" className="break-all text-sky-700 underline">
                      {terms.termsOfService}
                    </a>
                  ) : (
                    <span className="break-all font-mono text-xs">{decodeData(terms.termsOfService)}</span>
                  )}
                </p>
              ) : (
                <p>This CA publishes no terms of service.</p>
              )}
              <p className="text-xs text-slate-500">
                {terms.externalAccountRequired ? "It requires External Account Binding (below). " : ""}
                {terms.renewalInfo
                  ? "It offers renewal information (ARI): renewals follow its suggested window."
                  : "It offers no renewal information: renewals start with a third of the lifetime left."}
              </p>
            </div>
          ) : null}
          <label className="flex items-start gap-2 text-sm text-slate-800">
            <input type="checkbox" className="mt-0.5 h-4 w-4 rounded border-slate-300" checked={accept} onChange={(e) => setAccept(e.target.checked)} aria-invalid={!!errors.acceptTerms} />
            <span>I have read and accept the CA&apos;s terms of service.</span>
          </label>
          {errors.acceptTerms ? (
            <p role="alert" className="text-xs text-rose-700">
              {errors.acceptTerms}
            </p>
          ) : null}
        </div>
        <div className="space-y-2">
          <label className="flex items-center gap-2 text-sm text-slate-800">
            <input
              type="checkbox"
              className="h-4 w-4 rounded border-slate-300"
              checked={useEab || !!terms?.externalAccountRequired}
              disabled={!!terms?.externalAccountRequired}
              onChange={(e) => setUseEab(e.target.checked)}
            />
            External Account Binding (ZeroSSL, some commercial CAs)
          </label>
          {useEab || terms?.externalAccountRequired ? (
            <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
              <Field label="EAB key id" htmlFor={`${id}-kid`} error={errors.eab}>
                <Input id={`${id}-kid`} value={eab.kid} onChange={(e) => setEab({ ...eab, kid: e.target.value })} autoComplete="off" />
              </Field>
              <Field label="EAB HMAC key" htmlFor={`${id}-hmac`} hint="Used once to bind the account; not kept.">
                <Input id={`${id}-hmac`} type="password" value={eab.hmacKey} onChange={(e) => setEab({ ...eab, hmacKey: e.target.value })} autoComplete="off" />
              </Field>
            </div>
          ) : null}
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <Button type="submit" disabled={create.isPending}>
            {create.isPending ? "Registering with the CA…" : "Create account"}
          </Button>
          <Button type="button" variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        </div>
      </form>
    </Card>
  );
}

/** A data: URL's text (Pebble's terms are one), for showing rather than linking. */
function decodeData(url: string): string {
  const m = /^data:[^,]*,(.*)$/.exec(url);
  if (!m) return url;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return url;
  }
}
