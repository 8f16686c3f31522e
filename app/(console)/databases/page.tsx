import { Database } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Databases" };

export default function Page() {
  return (
    <>
      <PageHeader title="Databases" description="MySQL primary and replicas." />
      <EmptyState icon={<Database size={32} />} title="No databases yet">
        The MySQL (MariaDB) primary and its replicas will appear here with their replication state, GTID position and lag, and the actions to add a replica or promote one safely.
      </EmptyState>
    </>
  );
}
