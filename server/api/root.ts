// The whole API: one router per resource.
import { router, createCallerFactory } from "./trpc";
import { authRouter } from "./routers/auth";
import { usersRouter } from "./routers/users";
import { tokensRouter } from "./routers/tokens";
import { auditRouter } from "./routers/audit";
import { runsRouter } from "./routers/runs";
import { systemRouter } from "./routers/system";
import { serversRouter } from "./routers/servers";
import { sshKeysRouter } from "./routers/ssh-keys";
import { topologiesRouter } from "./routers/topologies";
import { certificatesRouter } from "./routers/certificates";
import { firewallRouter } from "./routers/firewall";
import { acmeRouter } from "./routers/acme";
import { monitoringRouter } from "./routers/monitoring";
import { databasesRouter } from "./routers/databases";
import { overviewRouter } from "./routers/overview";

export const appRouter = router({
  auth: authRouter,
  users: usersRouter,
  tokens: tokensRouter,
  audit: auditRouter,
  servers: serversRouter,
  sshKeys: sshKeysRouter,
  topologies: topologiesRouter,
  certificates: certificatesRouter,
  firewall: firewallRouter,
  acme: acmeRouter,
  monitoring: monitoringRouter,
  databases: databasesRouter,
  runs: runsRouter,
  system: systemRouter,
  overview: overviewRouter,
});

export type AppRouter = typeof appRouter;

/** Server components call procedures directly, without HTTP. */
export const createCaller = createCallerFactory(appRouter);
