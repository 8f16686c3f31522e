import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { MonitoringView } from "@/components/monitoring/monitoring-view";
import { notFound } from "next/navigation";
import { topologyTitle } from "@/server/services/page-titles";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const title = await topologyTitle((await params).id);
  return { title: title ? `${title} · Monitoring` : "Not found" };
}

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!(await topologyTitle(id))) notFound();
  return (
    <>
      <Link href="/monitoring" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Monitoring
      </Link>
      <MonitoringView topologyId={id} />
    </>
  );
}
