import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { FirewallServerView } from "@/components/firewall/firewall-server-view";

export const metadata = { title: "Server firewall" };

export default async function Page({ params }: { params: Promise<{ id: string; serverId: string }> }) {
  const { id, serverId } = await params;
  return (
    <>
      <Link href={`/firewall/${id}`} className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Topology firewall
      </Link>
      <FirewallServerView topologyId={id} serverId={serverId} />
    </>
  );
}
