"use client";
// The certificates page: the internal CA (and its certificate to download), each
// topology's site certificate (upload or issue), and the backends' certificates.
import { useEffect, useMemo } from "react";
import Link from "next/link";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { KeyRound } from "lucide-react";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { AcmeAccounts } from "./acme-accounts";
import { CertificateAlerts } from "./alerts";
import { EmptyState } from "../ui/empty-state";
import { CaCard, type CaInfo } from "./ca-card";
import { SiteCertificateSection } from "./site-certificate";
import { BackendCertificates } from "./backend-certificates";

export function CertificatesView() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const canAdmin = useCan("admin");
  const list = useQuery({ ...trpc.certificates.list.queryOptions(), refetchInterval: 10_000 });
  const accounts = useQuery(trpc.acme.accounts.queryOptions());
  const topologies = useQuery(trpc.topologies.list.queryOptions());
  const servers = useQuery(trpc.servers.list.queryOptions());

  const haveTopologies = (topologies.data?.length ?? 0) > 0;
  // The CA is created on first use: ask for it once there is a site to use it for.
  const ca = useQuery({ ...trpc.certificates.ca.queryOptions(), enabled: !!list.data && !list.data.ca && haveTopologies });
  useEffect(() => {
    if (ca.data) void queryClient.invalidateQueries({ queryKey: trpc.certificates.list.queryKey() });
  }, [ca.data, queryClient, trpc]);

  const serverNames = useMemo(() => new Map((servers.data ?? []).map((s) => [s.id, s.name])), [servers.data]);

  const error = list.error ?? topologies.error;
  if (error && (!list.data || !topologies.data))
    return (
      <p role="alert" className="text-sm text-rose-700">
        Could not load certificates: {error.message}
      </p>
    );
  const data = list.data;
  const sites = topologies.data;
  if (!data || !sites) return <p className="text-sm text-slate-500">Loading certificates…</p>;

  const { certificates } = data;
  const caInfo: CaInfo | null = data.ca ?? (ca.data ? { ...ca.data, notBefore: null, notAfter: null } : null);
  const backends = certificates.filter((c) => c.purpose === "backend");

  if (!haveTopologies)
    return (
      <div className="space-y-6">
        <EmptyState
          icon={<KeyRound size={32} />}
          title="No certificates yet"
          action={
            <Link
              href={canOperate ? "/topology/new" : "/topology"}
              className="inline-flex items-center gap-2 rounded-md bg-sky-700 px-3 py-1.5 text-sm font-medium text-white shadow-sm hover:bg-sky-800"
            >
              {canOperate ? "Create a topology" : "Go to topologies"}
            </Link>
          }
        >
          <p>
            Certificates will appear here once there is a topology: each site&apos;s certificate (uploaded by you, or issued by Rampart&apos;s internal CA), the internal CA itself with its certificate
            to download, and the certificates the CA gives the web and app servers so that every hop behind the load balancer is encrypted and verified.
          </p>
        </EmptyState>
        {data.ca ? <CaCard ca={caInfo} pending={false} /> : null}
        {backends.length > 0 ? <BackendCertificates certificates={backends} serverNames={serverNames} served={data.served} /> : null}
      </div>
    );

  const siteOf = (topologyId: string) => certificates.find((c) => c.purpose === "site" && c.topologyId === topologyId) ?? null;
  const siteNames = new Map(sites.map((t) => [t.id, t.name]));

  return (
    <div className="space-y-8">
      <CertificateAlerts alerts={data.alerts} siteNames={siteNames} />
      <CaCard ca={caInfo} pending={ca.isFetching} error={ca.error?.message} siteName={sites[0]?.name} />

      <section aria-labelledby="site-certificates-heading" className="space-y-3">
        <div>
          <h2 id="site-certificates-heading" className="text-base font-semibold text-slate-900">
            Site certificates
          </h2>
          <p className="mt-0.5 text-sm text-slate-600">
            One per topology: what visitors see. Order one from an ACME CA (renewed on schedule), upload one from a public CA, or issue one from the internal CA for private sites and tests.
          </p>
        </div>
        {sites.map((t) => (
          <SiteCertificateSection
            key={t.id}
            topology={t}
            cert={siteOf(t.id)}
            served={data.served.filter((s) => s.purpose === "site" && s.topologyId === t.id)}
            acme={data.acme.find((a) => a.topologyId === t.id) ?? null}
            accounts={accounts.data ?? []}
            canOperate={canOperate}
          />
        ))}
      </section>

      <AcmeAccounts accounts={accounts.data ?? []} canAdmin={canAdmin} />

      <BackendCertificates certificates={backends} serverNames={serverNames} served={data.served} />
    </div>
  );
}
