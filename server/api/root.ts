// The whole API: one router per resource.
import { router, createCallerFactory } from "./trpc";
import { runsRouter } from "./routers/runs";
import { systemRouter } from "./routers/system";

export const appRouter = router({
  runs: runsRouter,
  system: systemRouter,
});

export type AppRouter = typeof appRouter;

/** Server components call procedures directly, without HTTP. */
export const createCaller = createCallerFactory(appRouter);
