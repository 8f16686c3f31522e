import { PageHeader } from "@/components/ui/page-header";
import { MonitoringIndex } from "@/components/monitoring/monitoring-index";
import { AlertList } from "@/components/monitoring/alert-list";
import { AlertRules } from "@/components/monitoring/alert-rules";

export const metadata = { title: "Monitoring" };

export default function Page() {
  return (
    <>
      <PageHeader title="Monitoring" description="What the exporters on each server report, from Prometheus: requests per second, errors, CPU, memory, disk and load." />
      <div className="space-y-6">
        <AlertList />
        <MonitoringIndex />
        <AlertRules />
      </div>
    </>
  );
}
