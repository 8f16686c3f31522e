import { Activity } from "lucide-react";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";

export const metadata = { title: "Monitoring" };

export default function Page() {
  return (
    <>
      <PageHeader title="Monitoring" description="What the monitoring client on each server reports." />
      <EmptyState icon={<Activity size={32} />} title="Nothing monitored yet">
        Once servers are provisioned, each runs a monitoring client. Their metrics will be charted here: CPU, memory, disk, availability, and the web tier's requests per second (QPS) and response
        times, with alerts when something crosses a threshold.
      </EmptyState>
    </>
  );
}
