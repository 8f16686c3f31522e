// What a console detail page is about, for its title, and whether it exists at all (an
// unknown id answers 404 inside the console). Read on the server before the page renders.
import { db } from "../db";
import { runKindLabel } from "../schemas/run-kinds";

export async function topologyTitle(id: string): Promise<string | null> {
  return (await (await db()).topology.findUnique({ where: { id }, select: { name: true } }))?.name ?? null;
}

export async function serverTitle(id: string): Promise<string | null> {
  return (await (await db()).server.findUnique({ where: { id }, select: { name: true } }))?.name ?? null;
}

export async function runTitle(id: string): Promise<string | null> {
  const run = await (await db()).run.findUnique({ where: { id }, select: { kind: true, topologyId: true } });
  if (!run) return null;
  const topology = run.topologyId ? await topologyTitle(run.topologyId) : null;
  return `${runKindLabel(run.kind)}${topology ? ` · ${topology}` : ""}`;
}
