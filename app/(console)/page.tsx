import { PageHeader } from "@/components/ui/page-header";
import { StatusPanel } from "@/components/system/status-panel";
import { RunsTable } from "@/components/runs/runs-table";
import { StartSystemCheckButton } from "@/components/runs/start-system-check";
import { InfrastructureOverview } from "@/components/system/infrastructure-overview";

export default function OverviewPage() {
  return (
    <>
      <PageHeader
        title="Overview"
        description="Rampart builds and runs a secured, monitored web infrastructure over SSH: load balancer, web and app servers, MySQL primary and replicas, firewalls, TLS and monitoring."
        actions={<StartSystemCheckButton />}
      />
      <div className="space-y-6">
        <InfrastructureOverview />
        <StatusPanel />
        <section>
          <h2 className="mb-2 text-sm font-semibold text-slate-900">Recent runs</h2>
          <RunsTable limit={5} />
        </section>
      </div>
    </>
  );
}
