// The Databases view: a topology's database servers, with the replication state the
// worker last read from them.
import type { Db } from "../db";
import { type DatabaseViewDto, DbStatus, type PromoteInput } from "../schemas/database";
import { ServiceError } from "./errors";
import { memberRoles, startTopologyRun } from "./topologies";
import type { Caller, RunsDeps } from "./runs";

export async function databaseView(db: Db, topologyId: string): Promise<DatabaseViewDto> {
  const t = await db.topology.findUnique({ where: { id: topologyId }, include: { members: { include: { server: true } } } });
  if (!t) throw new ServiceError("NOT_FOUND", `No topology with id ${topologyId}`, "id");
  const members = t.members
    .map((m) => ({ m, roles: memberRoles(m) }))
    .filter(({ roles }) => roles.includes("db-primary") || roles.includes("db-replica"))
    .map(({ m, roles }) => ({ serverId: m.serverId, name: m.server.name, address: m.server.address, role: roles.includes("db-primary") ? ("primary" as const) : ("replica" as const) }))
    .sort((a, b) => (a.role === b.role ? a.name.localeCompare(b.name) : a.role === "primary" ? -1 : 1));
  let status: DbStatus | null = null;
  if (t.dbStatus) {
    const parsed = DbStatus.safeParse(JSON.parse(t.dbStatus));
    status = parsed.success ? parsed.data : null;
  }
  return { topologyId: t.id, topologyName: t.name, status, members };
}

/**
 * Starts a promotion: the run computes its preview (refusing when it is not safe) and
 * waits for an operator to confirm it (POST /runs/{id}/confirm).
 */
export async function startPromotion(deps: RunsDeps, caller: Caller, input: PromoteInput) {
  const member = await deps.db.topologyMember.findUnique({
    where: { topologyId_serverId: { topologyId: input.topologyId, serverId: input.candidateId } },
    include: { server: { select: { name: true } } },
  });
  if (!member) throw new ServiceError("BAD_REQUEST", "This server is not a member of the topology", "candidateId");
  if (!memberRoles(member).includes("db-replica")) throw new ServiceError("BAD_REQUEST", `${member.server.name} is not a database replica: only a replica can be promoted`, "candidateId");
  return startTopologyRun(deps, caller, input.topologyId, "db-promote", undefined, { input: { candidateId: input.candidateId, force: input.force } });
}
