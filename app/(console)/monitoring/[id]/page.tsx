import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { MonitoringView } from "@/components/monitoring/monitoring-view";

export const metadata = { title: "Topology monitoring" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <>
      <Link href="/monitoring" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Monitoring
      </Link>
      <MonitoringView topologyId={id} />
    </>
  );
}
