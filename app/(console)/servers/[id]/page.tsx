import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { ServerDetail } from "@/components/servers/server-detail";
import { notFound } from "next/navigation";
import { serverTitle } from "@/server/services/page-titles";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const title = await serverTitle((await params).id);
  return { title: title ? `${title} · Server` : "Not found" };
}

export default async function ServerPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!(await serverTitle(id))) notFound();
  return (
    <>
      <Link href="/servers" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Servers
      </Link>
      <ServerDetail id={id} />
    </>
  );
}
