import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { PageHeader } from "@/components/ui/page-header";
import { Card } from "@/components/ui/card";
import { NewSiteForm } from "@/components/topology/new-site-form";

export const metadata = { title: "New site" };

export default function NewSitePage() {
  return (
    <>
      <Link href="/topology" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-600 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Topology
      </Link>
      <PageHeader
        title="New site"
        description="The three-server site: a load balancer, web and app on two servers, the database as primary and replica, a firewall and monitoring on every server, and a certificate for the site. Pick the servers, read the plan, apply."
      />
      <Card className="p-4">
        <NewSiteForm />
      </Card>
    </>
  );
}
