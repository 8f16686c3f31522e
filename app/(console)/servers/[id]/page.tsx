import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { ServerDetail } from "@/components/servers/server-detail";

export const metadata = { title: "Server" };

export default async function ServerPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <>
      <Link href="/servers" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Servers
      </Link>
      <ServerDetail id={id} />
    </>
  );
}
