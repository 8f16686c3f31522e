import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { PageHeader } from "@/components/ui/page-header";
import { Card } from "@/components/ui/card";
import { TopologyForm } from "@/components/topology/topology-form";

export const metadata = { title: "New topology" };

export default function NewTopologyPage() {
  return (
    <>
      <Link href="/topology" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Topology
      </Link>
      <PageHeader title="New topology" description="Name the site and give your servers roles. Saving changes nothing on the servers: you plan, read the plan, then apply." />
      <Card className="p-4">
        <TopologyForm />
      </Card>
    </>
  );
}
