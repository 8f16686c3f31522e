import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { FirewallView } from "@/components/firewall/firewall-view";
import { notFound } from "next/navigation";
import { topologyTitle } from "@/server/services/page-titles";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const title = await topologyTitle((await params).id);
  return { title: title ? `${title} · Firewall` : "Not found" };
}

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!(await topologyTitle(id))) notFound();
  return (
    <>
      <Link href="/firewall" className="mb-2 inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
        <ChevronLeft size={16} aria-hidden /> Firewall
      </Link>
      <FirewallView topologyId={id} />
    </>
  );
}
