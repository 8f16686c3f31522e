import { PageHeader } from "@/components/ui/page-header";
import { TopologiesList } from "@/components/topology/topologies-list";

export const metadata = { title: "Topology" };

export default function TopologyPage() {
  return (
    <>
      <PageHeader title="Topology" description="Which server plays which role, and how traffic flows between them." />
      <TopologiesList />
    </>
  );
}
