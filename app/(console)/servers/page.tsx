import { PageHeader } from "@/components/ui/page-header";
import { ServersTable } from "@/components/servers/servers-table";

export const metadata = { title: "Servers" };

export default function ServersPage() {
  return (
    <>
      <PageHeader title="Servers" description="The machines Rampart manages over SSH." />
      <ServersTable />
    </>
  );
}
