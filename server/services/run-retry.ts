// Starting a run again, or a run that may name a topology: these need both the
// generic run service and the topology service, so they live above both.
import { type RunKind, type SampleOperationInput, RETRYABLE_STATUSES } from "../schemas/run";
import { runKindPolicy } from "../schemas/run-kinds";
import { ServiceError } from "./errors";
import { safeJson, startRun, type Caller, type RunsDeps } from "./runs";
import { startTopologyRun } from "./topologies";

/**
 * Starts the same work again: a new run with the same kind and input (an apply
 * re-plans, so it continues where the last one stopped; an operation previews again).
 */
export async function retryRun(deps: RunsDeps, caller: Caller, id: string) {
  const row = await deps.db.run.findUnique({ where: { id }, include: { runTargets: true } });
  if (!row) throw new ServiceError("NOT_FOUND", `No run with id ${id}`, "id");
  if (!(RETRYABLE_STATUSES as readonly string[]).includes(row.status))
    throw new ServiceError("CONFLICT", `Only a failed, cancelled or partially applied run can be retried; this one is ${row.status}`, "id");
  const policy = runKindPolicy(row.kind);
  if (!policy?.retryable) throw new ServiceError("BAD_REQUEST", `A ${row.kind} run cannot be retried`, "id");
  const kind = row.kind as RunKind;
  // A retry is asked for by someone: never a scheduled drift check.
  const { drift: _scheduled, ...input } = safeJson(row.input) as Record<string, unknown>;
  if (row.topologyId && policy.topology) {
    // The same checks as a fresh start (the topology exists, no conflicting run), with today's servers.
    return startTopologyRun(deps, caller, row.topologyId, kind, row.id, { input });
  }
  return startRun(
    deps,
    caller,
    kind,
    input,
    row.runTargets.map((t) => t.serverId),
    { topologyId: row.topologyId ?? undefined, retryOf: row.id },
  );
}

/** Starts a sample operation (on a topology if one is given, to show exclusivity and host locks). */
export async function startSampleOperation(deps: RunsDeps, caller: Caller, kind: "sample-operation" | "sample-operation-strict", input: SampleOperationInput) {
  if (!input.topologyId) return startRun(deps, caller, kind, input);
  return startTopologyRun(deps, caller, input.topologyId, kind, undefined, { input: { ...input } });
}
