// The managed infrastructure at a glance (the console's Overview).
import { z } from "zod";
import { router, readProcedure } from "../trpc";
import { OverviewDto } from "../../schemas/overview";
import { overview } from "../../services/overview";

export const overviewRouter = router({
  get: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/overview",
        protect: true,
        tags: ["system"],
        summary: "Every topology's state, unreachable servers, failed runs of the last day, certificates expiring within 21 days, alerts firing",
      },
    })
    .input(z.void())
    .output(OverviewDto)
    .query(({ ctx }) => overview(ctx.db)),
});
