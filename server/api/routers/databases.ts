// Databases: each topology's primary and replicas with their replication state.
import { router, readProcedure } from "../trpc";
import { DatabaseViewDto } from "../../schemas/database";
import { TopologyIdInput } from "../../schemas/topology";
import { databaseView } from "../../services/databases";

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
});
