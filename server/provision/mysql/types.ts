// The MySQL role's data: what Rampart wants of a database server, what the observe
// probe read from it, and the statements (as data) that converge one to the other.
import type { Secret } from "../../secrets/secret";
import type { Command } from "../command";

export interface Grant {
  privileges: string[];
  /** "*.*" or "`app`.*" (already quoted). */
  on: string;
}

/** An account Rampart manages (all are named rampart_…). */
export interface DesiredUser {
  user: string;
  host: string;
  /** The stored password hash (never the password). */
  hash: string;
  requireSsl: boolean;
  grants: Grant[];
  /** Global privileges as mysql.user shows them (Select_priv…), to notice one that lost them. */
  global: { select: boolean; process: boolean; replSlave: boolean; replClient: boolean };
  /** Databases it must have a grant on (mysql.db). */
  databases: string[];
  /** For messages: "the app on web1". */
  purpose: string;
}

export interface ReplicationSource {
  serverId: string;
  name: string;
  host: string;
  port: number;
  user: string;
}

export type MysqlStatement =
  | { do: "create-database"; name: string }
  | ({ do: "user" } & Pick<DesiredUser, "user" | "host" | "hash" | "requireSsl" | "grants">)
  | { do: "drop-user"; user: string; host: string }
  | { do: "read-only"; on: boolean }
  /** Stops and forgets replication; its rendering also removes Rampart's record of the source (the marker). */
  | { do: "stop-replication" }
  | { do: "reset-binlog" }
  /** Load the source's consistent dump (a cross-host step: the worker streams it). */
  | { do: "seed"; from: { serverId: string; name: string } }
  | { do: "replicate"; source: ReplicationSource; password: Secret; caFile: string; marker: { path: string; key: string } }
  | { do: "start-replication" };

export interface ObservedUser {
  user: string;
  host: string;
  hash: string;
  ssl: string;
  global: { select: boolean; process: boolean; replSlave: boolean; replClient: boolean };
}

export interface ReplicaStatus {
  sourceHost: string;
  sourcePort: number;
  sourceUser: string;
  /** Slave_IO_Running: Yes, No or Connecting. */
  io: string;
  sql: string;
  usingGtid: string;
  ssl: boolean;
  sslVerify: boolean;
  lagS: number | null;
  lastIoError: string;
  lastSqlError: string;
  /** Gtid_IO_Pos: what the replica received. */
  gtidIoPos: string;
}

export interface MysqlVars {
  serverId: number;
  readOnly: boolean;
  gtidStrict: boolean;
  logBin: boolean;
  secureTransport: boolean;
  ssl: string;
  gtidCurrent: string;
  gtidSlave: string;
  gtidBinlog: string;
  version: string;
}

export interface ServerConfig {
  siteName: string;
  serverId: number;
  bindAddress: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface MysqlFlavour {
  name: string;
  package: string;
  unit: string;
  client: string;
  /** The system user the server runs as (owns its key). */
  user: string;
  configDir: string;
  probeSql: string;
  statementSql(s: MysqlStatement): string[];
  describeStatement(s: MysqlStatement): string;
  renderServerConfig(c: ServerConfig): string;
  renderRoleConfig(c: { siteName: string; readOnly: boolean }): string;
  showReplicaStatus: string;
  /** Promotion: makes a primary read-only and locks the app's accounts out (kept out of its binary log). */
  fenceSql(appAccounts: Array<{ user: string; host: string }>): string;
  /** Promotion: returns 0 once the server applied `gtid`, -1 after timeoutS. */
  gtidWaitSql(gtid: string, timeoutS: number): string;
  /** Promotion: stops replicating, forgets its source, and takes writes. */
  promoteSql: string;
  /** Variables a promotion reads: read_only, gtid_binlog_state, gtid_binlog_pos, gtid_current_pos, gtid_slave_pos. */
  positionsSql: string;
  /** On the source: a consistent dump of every database, with its GTID position, on stdout. */
  dumpCommand(): Command;
  /** On the replica: loads the dump from stdin. */
  loadCommand(): Command;
}
