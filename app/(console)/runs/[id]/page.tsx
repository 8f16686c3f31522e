import Link from "next/link";
import { ChevronLeft } from "lucide-react";
import { RunView } from "@/components/runs/run-view";
import { notFound } from "next/navigation";
import { runTitle } from "@/server/services/page-titles";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }) {
  const title = await runTitle((await params).id);
  return { title: title ? `${title} · Run` : "Not found" };
}

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!(await runTitle(id))) notFound();
  return (
    <>
      <div className="mb-4">
        <Link href="/runs" className="inline-flex items-center gap-1 text-sm text-slate-500 hover:text-slate-800">
          <ChevronLeft size={16} aria-hidden /> Runs
        </Link>
        <h1 className="mt-1 text-xl font-semibold tracking-tight text-slate-900">
          Run <span className="font-mono text-base text-slate-500">{id}</span>
        </h1>
      </div>
      <RunView id={id} />
    </>
  );
}
