import { PageHeader } from "@/components/ui/page-header";
import { RunsTable } from "@/components/runs/runs-table";
import { StartSystemCheckButton } from "@/components/runs/start-system-check";

export const metadata = { title: "Runs" };

export default function RunsPage() {
  return (
    <>
      <PageHeader title="Runs" description="Every job Rampart carries out, newest first. Open one to follow it live." actions={<StartSystemCheckButton pacing />} />
      <RunsTable />
    </>
  );
}
