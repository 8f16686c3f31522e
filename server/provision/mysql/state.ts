// The database server's own state (databases, accounts, read-only, replication) as a
// resource: the probe's output parsed, and the pure diff that turns desired +
// observed into statements. The statements are data; the flavour renders them.
import type { Tier } from "../../schemas/topology";
import type { Secret } from "../../secrets/secret";
import { MARIADB } from "./mariadb";
import type { DesiredUser, MysqlFlavour, MysqlStatement, MysqlVars, ObservedUser, ReplicaStatus, ReplicationSource } from "./types";

export const FLAVOURS = { mariadb: MARIADB } as const satisfies Record<string, MysqlFlavour>;
export type FlavourName = keyof typeof FLAVOURS;

/** Where a replica records which source (and credentials) Rampart set it up with: the hash, never the password. */
export const REPLICATION_MARKER = "/var/lib/rampart/mysql-source";

export interface MysqlRes {
  kind: "mysql";
  tier: Tier;
  flavour: FlavourName;
  role: "primary" | "replica";
  /** For messages. */
  hostName: string;
  /** Primary: the databases and accounts Rampart manages (accounts reach replicas through replication). */
  databases: string[];
  users: DesiredUser[];
  /** Replica: where it replicates from. */
  replication: { source: ReplicationSource; password: Secret; caFile: string; markerKey: string } | null;
}

export interface MysqlObserved {
  kind: "mysql";
  /** absent: no client installed; down: the server does not answer (error says why); up: read. */
  state: "absent" | "down" | "up";
  error: string | null;
  marker: string | null;
  vars: MysqlVars | null;
  users: ObservedUser[];
  dbGrants: Array<{ user: string; host: string; db: string }>;
  schemas: string[];
  /** Rampart's accounts that are locked ("user@host"): a promotion fences the old primary's app accounts so. */
  locked: string[];
  replica: ReplicaStatus | null;
}

const yes = (v: string | undefined) => v === "Y" || v === "1" || v === "ON" || v === "Yes";

/** The mysql probe's lines (tab-separated, each tagged: vars, user, dbgrant, schema, slave, marker, down, absent). */
export function parseMysqlProbe(body: readonly string[]): MysqlObserved {
  const o: MysqlObserved = { kind: "mysql", state: "up", error: null, marker: null, vars: null, users: [], dbGrants: [], schemas: [], locked: [], replica: null };
  const slave: string[][] = [];
  let tagged = false;
  for (const line of body) {
    const f = line.split("\t");
    const tag = f[0];
    if (tag === "absent") o.state = "absent";
    else if (tag === "down") {
      o.state = "down";
      o.error = f.slice(1).join(" ").trim() || "the server does not answer";
    } else if (tag === "marker") o.marker = f[1] ?? null;
    else if (tag === "vars") {
      tagged = true;
      o.vars = {
        serverId: Number(f[1]),
        readOnly: yes(f[2]),
        gtidStrict: yes(f[3]),
        logBin: yes(f[4]),
        secureTransport: yes(f[5]),
        ssl: f[6] ?? "",
        gtidCurrent: f[7] ?? "",
        gtidSlave: f[8] ?? "",
        gtidBinlog: f[9] ?? "",
        version: f[10] ?? "",
      };
    } else if (tag === "user")
      o.users.push({ user: f[1]!, host: f[2]!, hash: f[3] ?? "", ssl: f[4] ?? "", global: { select: yes(f[5]), process: yes(f[6]), replSlave: yes(f[7]), replClient: yes(f[8]) } });
    else if (tag === "dbgrant") o.dbGrants.push({ user: f[1]!, host: f[2]!, db: f[3]! });
    else if (tag === "schema") o.schemas.push(f[1]!);
    else if (tag === "locked") o.locked.push(`${f[1]}@${f[2]}`);
    else if (tag === "slave") slave.push(f.slice(1));
  }
  if (o.state === "up" && !tagged) {
    o.state = "down";
    o.error ??= "the server answered nothing";
  }
  if (slave.length >= 2) o.replica = parseReplicaStatus(slave[0]!, slave[1]!);
  return o;
}

/** SHOW SLAVE STATUS in batch mode: a header row and a value row (\n and \t escaped). */
export function parseReplicaStatus(header: readonly string[], values: readonly string[]): ReplicaStatus {
  const v = new Map(header.map((h, i) => [h, (values[i] ?? "").replace(/\\n/g, "\n").replace(/\\t/g, "\t")]));
  const lag = v.get("Seconds_Behind_Master");
  return {
    sourceHost: v.get("Master_Host") ?? "",
    sourcePort: Number(v.get("Master_Port") ?? 0),
    sourceUser: v.get("Master_User") ?? "",
    io: v.get("Slave_IO_Running") ?? "No",
    sql: v.get("Slave_SQL_Running") ?? "No",
    usingGtid: v.get("Using_Gtid") ?? "No",
    ssl: v.get("Master_SSL_Allowed") === "Yes",
    sslVerify: v.get("Master_SSL_Verify_Server_Cert") === "Yes",
    lagS: lag === undefined || lag === "NULL" || lag === "" ? null : Number(lag),
    lastIoError: v.get("Last_IO_Error") ?? "",
    lastSqlError: v.get("Last_SQL_Error") ?? "",
    gtidIoPos: v.get("Gtid_IO_Pos") ?? "",
  };
}

/** The server is simply not running (yet): a plan for a stopped or new server sets everything up once it starts. */
const notRunning = (o: MysqlObserved) => o.state === "absent" || (o.state === "down" && /can't connect|socket|not running|no such file|connection refused/i.test(o.error ?? ""));

export interface MysqlChange {
  statements: MysqlStatement[];
  reasons: string[];
}

/**
 * What converges the server's own state, or null. Throws (the host cannot be planned)
 * when the server runs but Rampart cannot log in as root over its socket.
 */
export function diffMysql(r: MysqlRes, o: MysqlObserved | undefined): MysqlChange | null {
  const hostName = r.hostName;
  const f = FLAVOURS[r.flavour];
  const obs: MysqlObserved = o ?? { kind: "mysql", state: "absent", error: null, marker: null, vars: null, users: [], dbGrants: [], schemas: [], locked: [], replica: null };
  if (obs.state === "down" && !notRunning(obs))
    throw new Error(
      `${f.name} on ${hostName} runs, but Rampart cannot log in as root over its socket (${obs.error}): Rampart manages servers whose root logs in with unix_socket, as Debian installs them`,
    );
  const fresh = obs.state !== "up";
  return r.role === "primary" ? diffPrimary(r, obs, fresh) : diffReplica(r, obs, fresh);
}

function userStatement(u: DesiredUser): MysqlStatement {
  return { do: "user", user: u.user, host: u.host, hash: u.hash, requireSsl: u.requireSsl, grants: u.grants };
}

function diffPrimary(r: MysqlRes, o: MysqlObserved, fresh: boolean): MysqlChange | null {
  // A former replica forgets its source (and Rampart's record of it, which would let it resume from a stale position later).
  const forget: MysqlStatement[] = o.replica || o.marker ? [{ do: "stop-replication" }] : [];
  if (fresh)
    return {
      statements: [...forget, ...r.databases.map((name) => ({ do: "create-database" as const, name })), ...r.users.map(userStatement), { do: "read-only", on: false }],
      reasons: ["the server is new (or not running yet): its databases and accounts are set up once it runs"],
    };
  const statements: MysqlStatement[] = [...forget];
  const reasons: string[] = [];
  if (o.replica) reasons.push(`it still replicates from ${o.replica.sourceHost}, but it is the primary`);
  else if (o.marker) reasons.push("it was set up as a replica before: the record of its source is removed");
  for (const name of r.databases)
    if (!o.schemas.includes(name)) {
      statements.push({ do: "create-database", name });
      reasons.push(`database ${name} does not exist`);
    }
  for (const u of r.users) {
    const found = o.users.find((x) => x.user === u.user && x.host === u.host);
    const why = !found
      ? "does not exist"
      : found.hash !== u.hash
        ? "has another password"
        : (found.ssl === "ANY") !== u.requireSsl
          ? u.requireSsl
            ? "does not require TLS"
            : "requires TLS"
          : (Object.keys(u.global) as Array<keyof DesiredUser["global"]>).some((k) => u.global[k] && !found.global[k])
            ? "lacks a privilege"
            : u.databases.some((db) => !o.dbGrants.some((g) => g.user === u.user && g.host === u.host && g.db === db))
              ? "lacks its grant on its database"
              : o.locked.includes(`${u.user}@${u.host}`)
                ? "is locked (fenced by a promotion)"
                : null;
    if (why) {
      statements.push(userStatement(u));
      reasons.push(`account ${u.user}@${u.host} (${u.purpose}) ${why}`);
    }
  }
  for (const x of o.users)
    if (!r.users.some((u) => u.user === x.user && u.host === x.host)) {
      statements.push({ do: "drop-user", user: x.user, host: x.host });
      reasons.push(`account ${x.user}@${x.host} is no longer needed`);
    }
  if (o.vars?.readOnly) {
    statements.push({ do: "read-only", on: false });
    reasons.push("it is read-only, but it is the primary");
  }
  return statements.length > 0 ? { statements, reasons } : null;
}

function diffReplica(r: MysqlRes, o: MysqlObserved, fresh: boolean): MysqlChange | null {
  const rep = r.replication;
  // No primary to replicate from (the topology's checks refuse that; kept read-only meanwhile).
  if (!rep) return fresh || !o.vars?.readOnly ? { statements: [{ do: "read-only", on: true }], reasons: ["it is a replica: read-only"] } : null;
  const replicate: MysqlStatement = {
    do: "replicate",
    source: rep.source,
    password: rep.password,
    caFile: rep.caFile,
    marker: { path: REPLICATION_MARKER, key: rep.markerKey },
  };
  const seed = (why: string): MysqlChange => ({
    statements: [{ do: "read-only", on: true }, { do: "stop-replication" }, { do: "reset-binlog" }, { do: "seed", from: { serverId: rep.source.serverId, name: rep.source.name } }, replicate],
    reasons: [why],
  });
  // Not running, but set up by Rampart from this very source with these credentials: it resumes where it was once started.
  if (fresh && o.state === "down" && o.marker === rep.markerKey)
    return { statements: [{ do: "read-only", on: true }, { do: "start-replication" }], reasons: ["the server is not running: once started it resumes replicating where it stopped"] };
  if (fresh) return seed("the server is new (or not running yet): it is loaded from its source and replicates from it");
  const statements: MysqlStatement[] = [];
  const reasons: string[] = [];
  if (!o.vars?.readOnly) {
    statements.push({ do: "read-only", on: true });
    reasons.push("it is writable, but it is a replica");
  }
  if (!o.replica || o.replica.sourceHost !== rep.source.host) {
    const c = seed(o.replica ? `it replicates from ${o.replica.sourceHost}, not from ${rep.source.name} (${rep.source.host})` : `it does not replicate from ${rep.source.name} yet`);
    return { statements: [...c.statements], reasons: [...reasons, ...c.reasons] };
  }
  if (o.marker !== rep.markerKey) {
    statements.push(replicate);
    reasons.push(o.marker ? "its replication credentials or settings changed" : "Rampart did not set up its replication (or the record of it is gone)");
  } else if (o.replica.io === "No" || o.replica.sql === "No") {
    statements.push({ do: "start-replication" });
    reasons.push(
      `replication is stopped (IO thread ${o.replica.io}, SQL thread ${o.replica.sql})${o.replica.lastSqlError ? `: ${o.replica.lastSqlError}` : o.replica.lastIoError ? `: ${o.replica.lastIoError}` : ""}`,
    );
  }
  return statements.length > 0 ? { statements, reasons } : null;
}
