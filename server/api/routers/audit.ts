// The audit log, for admins.
import { z } from "zod";
import { router, adminProcedure } from "../trpc";
import { AuditEntryDto, AuditListInput } from "../../schemas/auth";
import { listAudit } from "../../services/audit";

export const auditRouter = router({
  list: adminProcedure
    .meta({ openapi: { method: "GET", path: "/audit", protect: true, tags: ["audit"], summary: "Audit entries, newest first, filtered" } })
    .input(AuditListInput)
    .output(z.object({ items: z.array(AuditEntryDto), nextCursor: z.number().nullable() }))
    .query(({ ctx, input }) => listAudit(ctx.db, input)),
});
