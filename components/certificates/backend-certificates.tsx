"use client";
// The web and app servers' certificates from the internal CA (the load balancer
// and the web servers verify these hops against it).
import Link from "next/link";
import type { z } from "zod";
import type { CertificateDto, ServedCertificateDto } from "@/server/schemas/certificates";
import { Card } from "../ui/card";
import { Expiry, internalRenewalAt, NextRenewal } from "./expiry";
import { ServedBy } from "./served";
import { TableScroll } from "../ui/table-scroll";

type Certificate = z.infer<typeof CertificateDto>;

/** Renewal starts 10 days before expiry; under a week left means it has not happened. */
const BACKEND_WARN_DAYS = 7;

export function BackendCertificates({ certificates, serverNames, served = [] }: { certificates: Certificate[]; serverNames: Map<string, string>; served?: ServedCertificateDto[] }) {
  const rows = [...certificates].sort((a, b) => nameOf(a, serverNames).localeCompare(nameOf(b, serverNames)));
  return (
    <Card>
      <section aria-labelledby="backend-certificates-heading">
        <div className="border-b border-slate-100 px-4 py-3">
          <h2 id="backend-certificates-heading" className="text-sm font-semibold text-slate-900">
            Backend certificates
          </h2>
          <p className="mt-0.5 text-xs text-slate-500">
            Every web and app server gets a certificate from the internal CA, issued and renewed automatically: each is valid for 30 days and renewed once two-thirds of that has passed (an hourly
            check starts an apply that re-issues and deploys it). Nothing to do here.
          </p>
        </div>
        {rows.length === 0 ? (
          <p className="px-4 py-6 text-sm text-slate-500" data-testid="backend-certs-empty">
            None yet. The first apply of a topology issues one to each of its web and app servers; they will be listed here with their names and expiry.
          </p>
        ) : (
          <TableScroll>
            <table className="w-full text-left text-sm" aria-label="Backend certificates">
              <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                <tr>
                  <th className="px-4 py-2 font-medium">Server</th>
                  <th className="px-4 py-2 font-medium">Names</th>
                  <th className="px-4 py-2 font-medium">Expires</th>
                  <th className="px-4 py-2 font-medium">Next renewal</th>
                  <th className="px-4 py-2 font-medium">Fingerprint (SHA-256)</th>
                  <th className="px-4 py-2 font-medium">Served</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {rows.map((c) => (
                  <tr key={c.id} data-testid="backend-cert-row" data-server={nameOf(c, serverNames)}>
                    <td className="px-4 py-2 align-top font-medium text-slate-900">
                      {c.serverId ? (
                        <Link href={`/servers/${c.serverId}`} className="text-sky-700 hover:underline">
                          {nameOf(c, serverNames)}
                        </Link>
                      ) : (
                        "—"
                      )}
                    </td>
                    <td className="px-4 py-2 align-top font-mono text-xs text-slate-700">{c.names.join(", ")}</td>
                    <td className="px-4 py-2 align-top">
                      <Expiry notAfter={c.notAfter} warnDays={BACKEND_WARN_DAYS} note="not renewed yet: apply the topology" />
                    </td>
                    <td className="px-4 py-2 align-top text-xs">
                      <NextRenewal at={internalRenewalAt(c)} />
                    </td>
                    <td className="max-w-[16rem] px-4 py-2 align-top">
                      <span className="block truncate font-mono text-[11px] text-slate-600" title={c.fingerprint}>
                        {c.fingerprint}
                      </span>
                    </td>
                    <td className="px-4 py-2 align-top">
                      <ServedBy served={served.filter((s) => s.purpose === "backend" && s.serverId === c.serverId)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </Card>
  );
}

function nameOf(c: Certificate, serverNames: Map<string, string>): string {
  return (c.serverId && serverNames.get(c.serverId)) || c.names[0] || "(removed server)";
}
