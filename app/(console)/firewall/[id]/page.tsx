import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { FirewallView } from "@/components/firewall/firewall-view";

export const metadata = { title: "Topology firewall" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <>
      <Link href="/firewall" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Firewall
      </Link>
      <FirewallView topologyId={id} />
    </>
  );
}
