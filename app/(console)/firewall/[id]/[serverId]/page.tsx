import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { FirewallServerView } from "@/components/firewall/firewall-server-view";
import { notFound } from "next/navigation";
import { serverTitle, topologyTitle } from "@/server/services/page-titles";

export async function generateMetadata({ params }: { params: Promise<{ id: string; serverId: string }> }) {
  const title = await serverTitle((await params).serverId);
  return { title: title ? `${title} · Firewall` : "Not found" };
}

export default async function Page({ params }: { params: Promise<{ id: string; serverId: string }> }) {
  const { id, serverId } = await params;
  if (!(await topologyTitle(id)) || !(await serverTitle(serverId))) notFound();
  return (
    <>
      <Link href={`/firewall/${id}`} className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Topology firewall
      </Link>
      <FirewallServerView topologyId={id} serverId={serverId} />
    </>
  );
}
