"use client";
// What needs the operator about certificates: one expired or with less than a sixth
// of its lifetime left, and ACME renewals that failed twice or more in a row.
import { AlertTriangle } from "lucide-react";
import type { CertificatesDto } from "@/server/schemas/certificates";
import type { z } from "zod";

type Alert = z.infer<typeof CertificatesDto>["alerts"][number];

export function CertificateAlerts({ alerts, siteNames }: { alerts: Alert[]; siteNames: Map<string, string> }) {
  if (alerts.length === 0) return null;
  return (
    <section aria-label="Certificate alerts" className="rounded-md border border-amber-300 bg-amber-50 px-4 py-3" data-testid="cert-alerts">
      <h2 className="flex items-center gap-2 text-sm font-semibold text-amber-900">
        <AlertTriangle size={16} aria-hidden /> {alerts.length === 1 ? "1 certificate alert" : `${alerts.length} certificate alerts`}
      </h2>
      <ul className="mt-1 space-y-1 text-sm text-amber-900">
        {alerts.map((a, i) => (
          <li key={i} data-testid="cert-alert" data-kind={a.kind}>
            {a.topologyId && siteNames.get(a.topologyId) ? <span className="font-mono font-medium">{siteNames.get(a.topologyId)}: </span> : null}
            {a.message}
          </li>
        ))}
      </ul>
    </section>
  );
}
