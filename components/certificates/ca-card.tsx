"use client";
// Rampart's internal CA: what it signs, its fingerprint and validity, and its
// certificate to download (what clients use with curl --cacert).
import { Check, Copy, Download, ShieldCheck } from "lucide-react";
import { useState } from "react";
import { Card } from "../ui/card";
import { Button } from "../ui/button";
import { formatDate } from "./expiry";

export interface CaInfo {
  certPem: string;
  fingerprint: string;
  notBefore: Date | null;
  notAfter: Date | null;
}

const caDownloadHref = (pem: string) => `data:application/x-pem-file;charset=utf-8,${encodeURIComponent(pem.endsWith("\n") ? pem : `${pem}\n`)}`;

export function CaCard({ ca, pending, error, siteName }: { ca: CaInfo | null; pending: boolean; error?: string | null; siteName?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Card>
      <section aria-labelledby="internal-ca-heading">
        <div className="flex items-start justify-between gap-4 border-b border-slate-100 px-4 py-3">
          <div>
            <h2 id="internal-ca-heading" className="flex items-center gap-1.5 text-sm font-semibold text-slate-900">
              <ShieldCheck size={16} aria-hidden className="text-emerald-600" />
              Internal CA
            </h2>
            <p className="mt-0.5 text-xs text-slate-500">
              Rampart&apos;s own certificate authority. It signs the web and app servers&apos; certificates (the load balancer and the web servers verify each other&apos;s hop with it) and the site
              certificates you issue from it. Its private key never leaves Rampart.
            </p>
          </div>
          {ca ? (
            <a
              href={caDownloadHref(ca.certPem)}
              download="rampart-ca.pem"
              data-testid="ca-download"
              className="inline-flex shrink-0 items-center gap-2 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white shadow-sm transition-colors hover:bg-sky-800 focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600"
            >
              <Download size={16} aria-hidden /> Download CA certificate
            </a>
          ) : null}
        </div>
        <div className="space-y-3 p-4 text-sm">
          {ca ? (
            <>
              <dl className="grid grid-cols-1 gap-x-6 gap-y-2 sm:grid-cols-[max-content_1fr]">
                <dt className="text-slate-500">Fingerprint (SHA-256)</dt>
                <dd className="break-all font-mono text-xs text-slate-800" data-testid="ca-fingerprint">
                  {ca.fingerprint}
                </dd>
                <dt className="text-slate-500">Valid</dt>
                <dd className="text-slate-800" data-testid="ca-validity">
                  {ca.notBefore && ca.notAfter ? `${formatDate(ca.notBefore)} to ${formatDate(ca.notAfter)}` : "—"}
                </dd>
              </dl>
              <div>
                <div className="mb-1 flex items-center justify-between gap-2">
                  <span className="text-xs font-medium text-slate-600">CA certificate (PEM)</span>
                  <Button
                    type="button"
                    variant="secondary"
                    className="px-2 py-1 text-xs"
                    onClick={() => {
                      void navigator.clipboard?.writeText(ca.certPem).then(() => setCopied(true));
                    }}
                  >
                    {copied ? <Check size={14} aria-hidden /> : <Copy size={14} aria-hidden />} {copied ? "Copied" : "Copy PEM"}
                  </Button>
                </div>
                <pre
                  data-testid="ca-pem"
                  aria-label="CA certificate (PEM)"
                  className="max-h-48 overflow-auto rounded-md bg-slate-50 px-3 py-2 font-mono text-[11px] leading-snug text-slate-700 ring-1 ring-slate-200"
                >
                  {ca.certPem.trim()}
                </pre>
              </div>
              <p className="text-xs text-slate-600">
                Clients that should trust a certificate from this CA (a site certificate issued from it, or a web server reached directly) use this file, e.g.{" "}
                <code className="rounded bg-slate-100 px-1 font-mono">curl --cacert rampart-ca.pem https://{siteName ?? "www.example.com"}/</code>
              </p>
            </>
          ) : error ? (
            <p role="alert" className="text-rose-700">
              Could not load the internal CA: {error}
            </p>
          ) : pending ? (
            <p className="text-slate-500">Loading the internal CA…</p>
          ) : (
            <p className="text-slate-500">The internal CA is created with the first apply of a topology; its certificate will appear here.</p>
          )}
        </div>
      </section>
    </Card>
  );
}
