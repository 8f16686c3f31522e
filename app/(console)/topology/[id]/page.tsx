import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { TopologyDetail } from "@/components/topology/topology-detail";

export const metadata = { title: "Topology" };

export default async function TopologyDetailPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <>
      <Link href="/topology" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Topology
      </Link>
      <TopologyDetail id={id} />
    </>
  );
}
