// Databases: each topology's primary and replicas with their replication state.
import { router, readProcedure, operateProcedure } from "../trpc";
import { DatabaseViewDto, PromoteInput } from "../../schemas/database";
import { TopologyIdInput } from "../../schemas/topology";
import { RunDto } from "../../schemas/run";
import { databaseView, startPromotion } from "../../services/databases";
import { principalLabel } from "../../auth/principal";
import { runsQueue } from "../../queue/producer";

export const databasesRouter = router({
  status: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/topologies/{id}/database",
        protect: true,
        tags: ["databases"],
        summary: "A topology's database servers: role, read-only state, GTID positions, and each replica's threads, lag and last error (read by the worker every 5 s)",
      },
    })
    .input(TopologyIdInput)
    .output(DatabaseViewDto)
    .query(({ ctx, input }) => databaseView(ctx.db, input.id)),

  promote: operateProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/topologies/{topologyId}/database/promote",
        protect: true,
        tags: ["databases"],
        summary:
          "Promote a replica (candidateId): a run whose preview checks the candidate (lag, SQL thread, errant GTIDs, cool-down) and waits for POST /runs/{id}/confirm. force: go ahead although the primary cannot be reached",
      },
    })
    .input(PromoteInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => startPromotion({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, input)),
});
