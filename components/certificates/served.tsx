"use client";
// What the hosts actually served, as the last apply or drift check found it: beside
// each certificate, the fingerprint every host presented on its TLS port, and whether
// it is the one Rampart deployed.
import type { ServedCertificateDto } from "@/server/schemas/certificates";
import { Badge } from "../ui/badge";

export function ServedBy({ served }: { served: ServedCertificateDto[] }) {
  if (served.length === 0)
    return (
      <span className="text-xs text-slate-500" title="The next apply or drift check looks (a load balancer's own certificate is only shown to the web servers, as a client)">
        not seen served
      </span>
    );
  return (
    <ul className="space-y-1">
      {served.map((s) => (
        <li
          key={`${s.serverId}:${s.port}`}
          data-testid="served-cert"
          data-server={s.serverName}
          data-matches={s.matches}
          data-fingerprint={s.fingerprint ?? ""}
          className="flex flex-wrap items-center gap-2 text-xs"
          title={`checked ${s.checkedAt.toLocaleString()}`}
        >
          <span className="font-medium text-slate-800">
            {s.serverName}:{s.port}
          </span>
          {s.matches ? (
            <>
              <Badge tone="success">serves it</Badge>
              {s.fingerprint ? <span className="font-mono text-[11px] text-slate-500">{s.fingerprint.slice(0, 23)}…</span> : null}
            </>
          ) : (
            <Badge tone="danger">{s.fingerprint ? `serves another (${s.fingerprint.slice(0, 17)}…)` : "served no certificate"}</Badge>
          )}
        </li>
      ))}
    </ul>
  );
}
