import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { DatabaseView } from "@/components/databases/database-view";

export const metadata = { title: "Topology databases" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <>
      <Link href="/databases" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Databases
      </Link>
      <DatabaseView topologyId={id} />
    </>
  );
}
