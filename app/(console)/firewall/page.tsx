import { Shield } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Firewall" };

export default function Page() {
  return (
    <>
      <PageHeader title="Firewall" description="nftables rules on every server, default deny." />
      <EmptyState icon={<Shield size={32} />} title="No firewall rules yet">
        Each server's firewall (an nftables ruleset with a default-deny policy) will be shown and edited here: which ports are open, to whom, and what Rampart will change before it changes it. Rules
        derive from the roles in the topology.
      </EmptyState>
    </>
  );
}
