import { Network } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Topology" };

export default function Page() {
  return (
    <>
      <PageHeader title="Topology" description="Which server plays which role, and how traffic flows between them." />
      <EmptyState icon={<Network size={32} />} title="No topology defined yet">
        A topology (a site such as www.foobar.com) will be drawn here as a diagram: the load balancer, web, app and database tiers, the servers in each, and whether each hop is encrypted. You will be able to assign roles, read the plan Rampart computes, and apply it. It needs servers first.
      </EmptyState>
    </>
  );
}
