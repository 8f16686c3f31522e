// What a console detail page is about, for its title, and whether it exists at all (an
// unknown id answers 404 inside the console). Read on the server before the page renders;
// cached per request, so the title and the page's own check read the row once.
import { cache } from "react";
import { db } from "../db";
import { runKindLabel } from "../schemas/run-kinds";

export const topologyTitle = cache(async (id: string): Promise<string | null> => {
  return (await (await db()).topology.findUnique({ where: { id }, select: { name: true } }))?.name ?? null;
});

export const serverTitle = cache(async (id: string): Promise<string | null> => {
  return (await (await db()).server.findUnique({ where: { id }, select: { name: true } }))?.name ?? null;
});

export const runTitle = cache(async (id: string): Promise<string | null> => {
  const run = await (await db()).run.findUnique({ where: { id }, select: { kind: true, topologyId: true } });
  if (!run) return null;
  const topology = run.topologyId ? await topologyTitle(run.topologyId) : null;
  return `${runKindLabel(run.kind)}${topology ? ` · ${topology}` : ""}`;
});
