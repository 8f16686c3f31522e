"use client";
// One topology's site certificate (what HAProxy presents to visitors): the current
// one, an upload form (chain + key, validated by the server: every problem is
// listed under the field it concerns), and issuing one from the internal CA.
// Either way it is deployed by the next apply.
import { useId, useState } from "react";
import Link from "next/link";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { z } from "zod";
import { BadgeCheck, Upload } from "lucide-react";
import { UploadSiteCertInput, type CertificateDto, type ServedCertificateDto } from "@/server/schemas/certificates";
import { useTRPC } from "../trpc";
import { applyServerErrors } from "../auth/server-errors";
import { Badge } from "../ui/badge";
import { Button } from "../ui/button";
import { Card } from "../ui/card";
import { ConfirmDialog } from "../ui/confirm";
import { Field, FormError } from "../ui/field";
import { Textarea } from "../ui/textarea";
import { Expiry, internalRenewalAt, NextRenewal } from "./expiry";
import { ServedBy } from "./served";
import { SiteAcme } from "./site-acme";
import type { AcmeAccountDto, SiteAcmeDto } from "@/server/schemas/acme";

type Certificate = z.infer<typeof CertificateDto>;
type UploadIn = z.input<typeof UploadSiteCertInput>;
type UploadOut = z.output<typeof UploadSiteCertInput>;

/** Site certificates warn this many days before they expire. */
export const SITE_WARN_DAYS = 14;

export const SOURCE_LABELS: Record<Certificate["source"], string> = { uploaded: "Uploaded", internal: "Internal CA", acme: "ACME" };

export function SiteCertificateSection({
  topology,
  cert,
  served,
  acme,
  accounts,
  canOperate,
}: {
  topology: { id: string; name: string };
  cert: Certificate | null;
  /** What the load balancers served on :443 when last checked. */
  served: ServedCertificateDto[];
  /** Where its ACME certificate comes from, with the renewal state (null: not from ACME). */
  acme: SiteAcmeDto | null;
  accounts: AcmeAccountDto[];
  canOperate: boolean;
}) {
  const headingId = useId();
  const [done, setDone] = useState<{ how: "uploaded" | "issued"; names: string[] } | null>(null);
  return (
    <Card>
      <section aria-labelledby={headingId} data-testid="site-cert-section" data-topology={topology.name}>
        <div className="flex flex-wrap items-start justify-between gap-3 border-b border-slate-100 px-4 py-3">
          <div>
            <h3 id={headingId} className="font-mono text-sm font-semibold text-slate-900">
              {topology.name}
            </h3>
            <p className="mt-0.5 text-xs text-slate-500">What the load balancer presents to visitors of this site (HAProxy on :443).</p>
          </div>
          <Link href={`/topology/${topology.id}`} className="text-xs text-sky-700 hover:underline">
            Open the topology
          </Link>
        </div>
        {done ? (
          <div role="status" data-testid="cert-deployed-note" className="flex flex-wrap items-center gap-2 border-b border-emerald-100 bg-emerald-50 px-4 py-2 text-sm text-emerald-900">
            <BadgeCheck size={16} aria-hidden />
            <span>
              Certificate {done.how} for {done.names.join(", ")}. Deployed by the next apply:
            </span>
            <Link href={`/topology/${topology.id}`} className="font-medium text-sky-700 underline">
              apply {topology.name}
            </Link>
          </div>
        ) : null}
        <div className="grid grid-cols-1 gap-6 p-4 lg:grid-cols-2">
          <div>
            <h4 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Current certificate</h4>
            <CurrentSiteCertificate cert={cert} served={served} />
            <h4 className="mb-2 mt-6 text-xs font-semibold uppercase tracking-wide text-slate-500">From an ACME CA</h4>
            <SiteAcme topology={topology} site={acme} accounts={accounts} cert={cert} canOperate={canOperate} />
            <IssueFromCa topology={topology} cert={cert} canOperate={canOperate} onIssued={(c) => setDone({ how: "issued", names: c.names })} />
          </div>
          <div>
            <h4 className="mb-2 text-xs font-semibold uppercase tracking-wide text-slate-500">Upload a certificate</h4>
            <UploadForm topology={topology} canOperate={canOperate} onUploaded={(c) => setDone({ how: "uploaded", names: c.names })} />
          </div>
        </div>
      </section>
    </Card>
  );
}

function CurrentSiteCertificate({ cert, served }: { cert: Certificate | null; served: ServedCertificateDto[] }) {
  if (!cert)
    return (
      <p className="text-sm text-slate-600" data-testid="site-cert-none">
        None yet. The first apply issues one from the internal CA for the site&apos;s name; upload your own (e.g. from a public CA) to replace it.
      </p>
    );
  return (
    <dl data-testid="site-cert" data-source={cert.source} className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1.5 text-sm">
      <dt className="text-slate-500">Source</dt>
      <dd>
        <Badge tone={cert.source === "uploaded" ? "info" : "neutral"}>
          <span data-testid="cert-source">{SOURCE_LABELS[cert.source]}</span>
        </Badge>
      </dd>
      <dt className="text-slate-500">Names</dt>
      <dd className="break-all font-mono text-xs text-slate-800" data-testid="cert-names">
        {cert.names.join(", ")}
      </dd>
      <dt className="text-slate-500">Issuer</dt>
      <dd className="break-all text-slate-800" data-testid="cert-issuer">
        {cert.issuer}
      </dd>
      <dt className="text-slate-500">Expires</dt>
      <dd>
        <Expiry
          notAfter={cert.notAfter}
          warnDays={SITE_WARN_DAYS}
          note={cert.source === "uploaded" ? "upload a renewed certificate" : cert.source === "acme" ? "renewed by a scheduled ACME order" : "renewed automatically by a scheduled apply"}
        />
      </dd>
      {cert.source === "internal" ? (
        <>
          <dt className="text-slate-500">Next renewal</dt>
          <dd>
            <NextRenewal at={internalRenewalAt(cert)} />
          </dd>
        </>
      ) : null}
      <dt className="text-slate-500">Fingerprint</dt>
      <dd className="break-all font-mono text-[11px] text-slate-600">{cert.fingerprint}</dd>
      <dt className="text-slate-500">Served</dt>
      <dd>
        <ServedBy served={served} />
      </dd>
      <dt className="text-slate-500">Added</dt>
      <dd className="text-slate-600">
        {cert.createdAt.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" })} by {cert.createdBy}
      </dd>
    </dl>
  );
}

function IssueFromCa({ topology, cert, canOperate, onIssued }: { topology: { id: string; name: string }; cert: Certificate | null; canOperate: boolean; onIssued: (c: Certificate) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const issue = useMutation(
    trpc.certificates.issueSite.mutationOptions({
      onSuccess: (c) => {
        setConfirm(false);
        onIssued(c);
        void queryClient.invalidateQueries({ queryKey: trpc.certificates.list.queryKey() });
      },
    }),
  );
  const replacesUpload = cert?.source === "uploaded";
  return (
    <div className="mt-4">
      <Button
        type="button"
        variant="secondary"
        disabled={!canOperate || issue.isPending}
        title={canOperate ? "Replace the site certificate with a new one from Rampart's internal CA" : "Only operators and admins can do this"}
        onClick={() => {
          issue.reset();
          setConfirm(true);
        }}
      >
        <BadgeCheck size={16} aria-hidden /> Issue from internal CA
      </Button>
      <ConfirmDialog
        open={confirm}
        title={`Issue a certificate for ${topology.name} from the internal CA?`}
        confirmLabel="Issue certificate"
        tone={replacesUpload ? "danger" : "primary"}
        pending={issue.isPending}
        error={issue.error?.message}
        onConfirm={() => issue.mutate({ topologyId: topology.id })}
        onClose={() => setConfirm(false)}
      >
        <p>
          {replacesUpload ? "It replaces the uploaded certificate. " : cert ? "It replaces the current certificate. " : ""}
          Browsers do not trust Rampart&apos;s internal CA: use it for private sites and tests, with clients given the CA certificate. It is valid for 30 days, renewed automatically, and deployed by
          the next apply.
        </p>
      </ConfirmDialog>
    </div>
  );
}

function UploadForm({ topology, canOperate, onUploaded }: { topology: { id: string; name: string }; canOperate: boolean; onUploaded: (c: Certificate) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const ids = { chain: useId(), key: useId() };
  const [formError, setFormError] = useState<string | null>(null);
  const form = useForm<UploadIn, unknown, UploadOut>({
    resolver: zodResolver(UploadSiteCertInput),
    defaultValues: { topologyId: topology.id, certificatePem: "", privateKeyPem: "" },
  });
  const errors = form.formState.errors;
  const upload = useMutation(
    trpc.certificates.uploadSite.mutationOptions({
      onSuccess: (c) => {
        // The key is not kept in the page once it is stored.
        form.reset({ topologyId: topology.id, certificatePem: "", privateKeyPem: "" });
        onUploaded(c);
        void queryClient.invalidateQueries({ queryKey: trpc.certificates.list.queryKey() });
      },
      onError: (e) => {
        setFormError(applyServerErrors(e, form.setError, ["certificatePem", "privateKeyPem"]) ? null : e.message);
      },
    }),
  );
  const submit = form.handleSubmit((v) => {
    setFormError(null);
    upload.mutate(v);
  });
  const denied = canOperate ? undefined : "Only operators and admins can upload certificates";

  return (
    <form onSubmit={submit} noValidate aria-label={`Upload a certificate for ${topology.name}`} className="space-y-3">
      <FormError message={formError} />
      <fieldset disabled={!canOperate} className="space-y-3">
        <Field
          label="Certificate chain (PEM)"
          htmlFor={ids.chain}
          error={errors.certificatePem?.message}
          hint={`The site's certificate first (for ${topology.name}), then the intermediate certificates.`}
        >
          <Textarea
            id={ids.chain}
            rows={6}
            spellCheck={false}
            autoComplete="off"
            className="font-mono text-xs"
            placeholder={"-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----"}
            aria-invalid={!!errors.certificatePem}
            aria-describedby={errors.certificatePem ? `${ids.chain}-error` : undefined}
            {...form.register("certificatePem")}
          />
        </Field>
        <Field label="Private key (PEM)" htmlFor={ids.key} error={errors.privateKeyPem?.message} hint="Stored encrypted; never shown again or returned by the API.">
          <Textarea
            id={ids.key}
            rows={4}
            spellCheck={false}
            autoComplete="off"
            className="font-mono text-xs"
            placeholder={"-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----"}
            aria-invalid={!!errors.privateKeyPem}
            aria-describedby={errors.privateKeyPem ? `${ids.key}-error` : undefined}
            {...form.register("privateKeyPem")}
          />
        </Field>
      </fieldset>
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" disabled={!canOperate || upload.isPending} title={denied}>
          <Upload size={16} aria-hidden /> {upload.isPending ? "Uploading…" : "Upload certificate"}
        </Button>
        <span className="text-xs text-slate-500">Checked before it is stored; deployed by the next apply.</span>
      </div>
    </form>
  );
}
