// The Overview: the managed infrastructure at a glance — every topology's state, the
// servers Rampart cannot reach, failed runs of the last day, certificates expiring soon,
// alerts firing — each item with where to act.
import { z } from "zod";

export const TOPOLOGY_STATES = ["in-sync", "drifted", "failing", "partially-applied", "failed", "error", "never-applied", "unknown"] as const;

export const OverviewDto = z.object({
  topologies: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      state: z.enum(TOPOLOGY_STATES),
      /** One line: what the state means here (changes to make, the last apply's outcome). */
      detail: z.string(),
      servers: z.number(),
      firingAlerts: z.number(),
      checkedAt: z.date().nullable(),
    }),
  ),
  unreachableServers: z.array(z.object({ id: z.string(), name: z.string(), address: z.string(), problem: z.string(), at: z.date().nullable() })),
  failedRuns: z.array(z.object({ id: z.string(), kind: z.string(), status: z.string(), topologyName: z.string().nullable(), outcome: z.string().nullable(), finishedAt: z.date() })),
  expiringCertificates: z.array(
    z.object({ id: z.string(), purpose: z.string(), names: z.string(), source: z.string(), notAfter: z.date(), daysLeft: z.number(), topologyName: z.string().nullable() }),
  ),
  alerts: z.array(z.object({ id: z.string(), name: z.string(), severity: z.string(), summary: z.string(), topologyId: z.string().nullable(), startsAt: z.date() })),
});
export type OverviewDto = z.infer<typeof OverviewDto>;

/** Certificates that expire within this many days are listed. */
export const EXPIRING_DAYS = 21;
