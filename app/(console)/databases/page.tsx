import { PageHeader } from "@/components/ui/page-header";
import { DatabaseIndex } from "@/components/databases/database-index";

export const metadata = { title: "Databases" };

export default function Page() {
  return (
    <>
      <PageHeader title="Databases" description="MariaDB primaries and their replicas: replication state, lag and GTID positions." />
      <DatabaseIndex />
    </>
  );
}
