// The database servers' live state, as the worker reads it every few seconds:
// shared by the worker, the router, the REST API and the console's Databases page.
// No server-only imports here: this file is bundled into the browser.
import { z } from "zod";

export const ReplicationDto = z.object({
  /** The address it replicates from. */
  source: z.string(),
  /** Slave_IO_Running / Slave_SQL_Running: Yes, No or Connecting. */
  io: z.string(),
  sql: z.string(),
  lagS: z.number().nullable(),
  usingGtid: z.string(),
  /** TLS with the source's certificate verified. */
  tls: z.boolean(),
  /** What it received from the source (Gtid_IO_Pos). */
  gtidReceived: z.string(),
  lastIoError: z.string(),
  lastSqlError: z.string(),
});
export type ReplicationDto = z.infer<typeof ReplicationDto>;

export const DbMemberStatus = z.object({
  serverId: z.string(),
  name: z.string(),
  address: z.string(),
  role: z.enum(["primary", "replica"]),
  /** Null when the server could not be read (error says why). */
  error: z.string().nullable(),
  readOnly: z.boolean().nullable(),
  /** gtid_current_pos: what it has applied or written; gtid_binlog_pos: what its binary log holds. */
  gtidCurrent: z.string(),
  gtidBinlog: z.string(),
  replication: ReplicationDto.nullable(),
  /** When the GTID positions were read: now, or (while the server cannot be read) the last time it could. */
  seenAt: z.coerce.date().nullable().default(null),
});
export type DbMemberStatus = z.infer<typeof DbMemberStatus>;

export const DbStatus = z.object({
  at: z.coerce.date(),
  members: z.array(DbMemberStatus),
});
export type DbStatus = z.infer<typeof DbStatus>;

export const DatabaseViewDto = z.object({
  topologyId: z.string(),
  topologyName: z.string(),
  /** Null until the worker has read the servers (after the first apply). */
  status: DbStatus.nullable(),
  members: z.array(z.object({ serverId: z.string(), name: z.string(), address: z.string(), role: z.enum(["primary", "replica"]) })),
});
export type DatabaseViewDto = z.infer<typeof DatabaseViewDto>;

/** Promote a replica: the run shows a preview (refused when unsafe) that an operator confirms. */
export const PromoteInput = z.object({
  topologyId: z.string().min(1, "a topology id is required").max(64),
  candidateId: z.string().min(1, "choose the replica to promote").max(64),
  /** Go ahead although the primary cannot be reached (it cannot be fenced; its last transactions may be lost). */
  force: z.boolean().default(false),
});
export type PromoteInput = z.infer<typeof PromoteInput>;
