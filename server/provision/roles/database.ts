// Database roles: MariaDB (Debian's MySQL server) as a primary and GTID replicas.
// Every member: a stable server_id, the binary log with GTIDs (strict mode), bound
// to its own address, TLS from the internal CA required for every TCP connection.
// The primary holds the app's database and Rampart's accounts (the app's, one
// replication account per replica, a read-only monitoring account); replicas are
// read-only, loaded from the primary's consistent dump, then replicate over TLS
// with GTID positioning.
import { createHash } from "node:crypto";
import type { Resource } from "../resources";
import { resourceId } from "../resources";
import { sqlIdent, nativePasswordHash } from "../mysql/mariadb";
import { FLAVOURS, type MysqlRes } from "../mysql/state";
import type { DesiredUser } from "../mysql/types";
import type { Secret } from "../../secrets/secret";
import { dir, file } from "./common";
import { EXPORTER_GROUP, MYSQLD_EXPORTER_CNF, MYSQLD_EXPORTER_DEFAULTS, MYSQLD_EXPORTER_PACKAGE, MYSQLD_EXPORTER_PORT, renderMysqldExporterCnf, renderMysqldExporterDefaults } from "./monitoring";
import type { CheckSpec, HostSpec, RoleModule, TopologySpec } from "./types";

export const MYSQL_PORT = 3306;
export const MYSQL_TLS_DIR = "/etc/mysql/rampart";
export const MYSQL_CA = `${MYSQL_TLS_DIR}/ca.pem`;
export const MYSQL_CERT = `${MYSQL_TLS_DIR}/server.pem`;
export const MYSQL_KEY = `${MYSQL_TLS_DIR}/server.key`;
/** The app's database, and the database Rampart's replication check writes its heartbeat to. */
export const APP_DATABASE = "app";
export const CHECK_DATABASE = "rampart_check";
export const APP_DB_USER = "rampart_app";
export const REPL_USER = "rampart_repl";
export const MONITOR_USER = "rampart_monitor";
/** A replica further behind than this fails its check. */
export const MAX_REPLICA_LAG_S = 30;

/** The address MariaDB binds to and accounts are made for (skip_name_resolve: addresses, not names). */
export const dbAddress = (h: Pick<HostSpec, "address" | "ips">) => h.ips?.[0] ?? h.address;

/** A stable server_id for a member: from its server's id, never 0. */
export function mysqlServerId(serverId: string): number {
  return (parseInt(createHash("sha256").update(serverId).digest("hex").slice(0, 8), 16) % 4_294_967_294) + 1;
}

/** What a replica was set up with, as a hash (never the password): a new password or source sets it up again. */
export function replicationMarkerKey(source: { host: string; port: number; user: string }, password: Secret): string {
  return createHash("sha256")
    .update(JSON.stringify([source.host, source.port, source.user, password.reveal(), MYSQL_CA]))
    .digest("hex")
    .slice(0, 32);
}

export const primaryOf = (t: Pick<TopologySpec, "hosts">) => t.hosts.find((h) => h.roles.includes("db-primary")) ?? null;
export const replicasOf = (t: Pick<TopologySpec, "hosts">) => t.hosts.filter((h) => h.roles.includes("db-replica"));

function credentials(t: TopologySpec) {
  if (!t.database) throw new Error("the database's credentials are missing (the topology was loaded without them)");
  return t.database;
}

/** The accounts the primary holds (replicas get them through replication). */
export function desiredUsers(t: TopologySpec): DesiredUser[] {
  const db = credentials(t);
  const none = { select: false, process: false, replSlave: false, replClient: false };
  const users: DesiredUser[] = [];
  for (const a of t.hosts.filter((h) => h.roles.includes("app")))
    users.push({
      user: APP_DB_USER,
      host: dbAddress(a),
      hash: nativePasswordHash(db.appPassword.reveal()),
      requireSsl: true,
      grants: [{ privileges: ["ALL PRIVILEGES"], on: `${sqlIdent(APP_DATABASE)}.*` }],
      global: none,
      databases: [APP_DATABASE],
      purpose: `the app on ${a.name}`,
    });
  for (const r of replicasOf(t)) {
    const pw = db.replPasswords.get(r.serverId);
    if (!pw) throw new Error(`no replication password for ${r.name}`);
    users.push({
      user: REPL_USER,
      host: dbAddress(r),
      hash: nativePasswordHash(pw.reveal()),
      requireSsl: true,
      grants: [{ privileges: ["REPLICATION SLAVE"], on: "*.*" }],
      global: { ...none, replSlave: true },
      databases: [],
      purpose: `replication to ${r.name}`,
    });
  }
  users.push({
    user: MONITOR_USER,
    host: "localhost",
    hash: nativePasswordHash(db.monitorPassword.reveal()),
    requireSsl: false,
    grants: [{ privileges: ["SELECT", "PROCESS", "BINLOG MONITOR", "SLAVE MONITOR"], on: "*.*" }],
    global: { ...none, select: true, process: true },
    databases: [],
    purpose: "monitoring (read-only, local socket)",
  });
  return users;
}

function resources(role: "db-primary" | "db-replica") {
  return (t: TopologySpec, h: HostSpec): Resource[] => {
    const f = FLAVOURS.mariadb;
    const db = credentials(t);
    const mine = t.tls.backends.get(h.serverId);
    if (!mine) throw new Error(`no certificate from the internal CA for ${h.name}`);
    const tier = "database" as const;
    // Readable by MariaDB's group (its key too), written by root.
    const own = (path: string, content: string, mode = 0o644, secret = false): Resource => ({ ...file(tier, path, content, mode, secret), group: f.user }) as Resource;
    const tls = [own(MYSQL_CA, t.tls.caPem), own(MYSQL_CERT, mine.certPem), own(MYSQL_KEY, mine.keyPem, 0o640, true)];
    const config = own(
      `${f.configDir}/90-rampart.cnf`,
      f.renderServerConfig({ siteName: t.name, serverId: mysqlServerId(h.serverId), bindAddress: dbAddress(h), caFile: MYSQL_CA, certFile: MYSQL_CERT, keyFile: MYSQL_KEY }),
    );
    const roleConfig = own(`${f.configDir}/91-rampart-role.cnf`, f.renderRoleConfig({ siteName: t.name, readOnly: role === "db-replica" }));
    const primary = primaryOf(t);
    const server: MysqlRes = {
      kind: "mysql",
      tier,
      flavour: "mariadb",
      role: role === "db-primary" ? "primary" : "replica",
      hostName: h.name,
      databases: role === "db-primary" ? [APP_DATABASE, CHECK_DATABASE] : [],
      users: role === "db-primary" ? desiredUsers(t) : [],
      replication:
        role === "db-replica" && primary
          ? (() => {
              const password = db.replPasswords.get(h.serverId);
              if (!password) throw new Error(`no replication password for ${h.name}`);
              const source = { serverId: primary.serverId, name: primary.name, host: dbAddress(primary), port: MYSQL_PORT, user: REPL_USER };
              return { source, password, caFile: MYSQL_CA, markerKey: replicationMarkerKey(source, password) };
            })()
          : null,
    };
    // With monitoring: the mysqld exporter (its TLS files and web configuration come with the monitoring module).
    const exporter: Resource[] = [];
    if (h.monitoring) {
      const defaults = file(tier, MYSQLD_EXPORTER_DEFAULTS, renderMysqldExporterDefaults(h.address));
      const cnf = { ...file(tier, MYSQLD_EXPORTER_CNF, renderMysqldExporterCnf(MONITOR_USER, db.monitorPassword.reveal()), 0o640, true), group: EXPORTER_GROUP } as Resource;
      exporter.push({ kind: "package", tier, name: MYSQLD_EXPORTER_PACKAGE }, defaults, cnf, {
        kind: "service",
        tier,
        name: MYSQLD_EXPORTER_PACKAGE,
        reloadOn: [],
        restartOn: [defaults, cnf].map(resourceId),
      });
    }
    return [
      { kind: "package", tier, name: f.package },
      dir(tier, MYSQL_TLS_DIR),
      ...tls,
      config,
      roleConfig,
      // Read at start only (MariaDB reloads neither its settings nor its certificate on a signal).
      { kind: "service", tier, name: f.unit, reloadOn: [], restartOn: [...tls, config].map(resourceId) },
      server,
      ...exporter,
    ];
  };
}

function checks(role: "db-primary" | "db-replica") {
  return (t: TopologySpec, h: HostSpec): CheckSpec[] => [
    { kind: "listening", claim: { port: MYSQL_PORT, unit: "mariadb.service", scope: "any", address: dbAddress(h), purpose: "MariaDB" } },
    { kind: "running-config", unit: "mariadb.service" },
    { kind: "mysql-server", role: role === "db-primary" ? "primary" : "replica", serverId: mysqlServerId(h.serverId) },
    ...(role === "db-replica" ? [{ kind: "replication" as const, maxLagS: MAX_REPLICA_LAG_S }] : []),
    ...(h.monitoring
      ? [
          { kind: "listening" as const, claim: exporterClaim(h) },
          { kind: "running-config" as const, unit: `${MYSQLD_EXPORTER_PACKAGE}.service` },
          { kind: "exporter" as const, port: MYSQLD_EXPORTER_PORT, name: "mysqld", metric: "mysql_global_status_uptime" },
        ]
      : []),
  ];
}

const exporterClaim = (h: HostSpec) => ({
  port: MYSQLD_EXPORTER_PORT,
  unit: `${MYSQLD_EXPORTER_PACKAGE}.service`,
  scope: "any" as const,
  address: h.address,
  purpose: "the mysqld exporter, for Rampart's collector",
});

const module = (role: "db-primary" | "db-replica", label: string): RoleModule => ({
  role,
  label,
  tier: "database",
  resources: resources(role),
  ports: (t, h) => [{ port: MYSQL_PORT, unit: "mariadb.service", scope: "any", address: dbAddress(h), purpose: "MariaDB" }, ...(h.monitoring ? [exporterClaim(h)] : [])],
  checks: checks(role),
  certificates: (t, h) => [{ kind: "backend", names: [...new Set([h.name, h.address, dbAddress(h)])] }],
  inbound: (t, h) => [
    ...(h.monitoring
      ? [
          {
            port: MYSQLD_EXPORTER_PORT,
            from: { kind: "control-plane" as const },
            protection: "tls" as const,
            label: "TLS + client certificate",
            detail:
              "Rampart's collector scrapes the mysqld exporter over TLS; the exporter answers only a client certificate from Rampart's internal CA, and reads MariaDB as the read-only rampart_monitor.",
            purpose: "metrics",
          },
        ]
      : []),
    {
      port: MYSQL_PORT,
      from: { kind: "role", role: "app" },
      protection: "tls",
      label: "TLS (internal CA)",
      detail:
        role === "db-primary"
          ? "The app's queries: TLS required (require_secure_transport), the server's certificate from Rampart's internal CA, one account per app server."
          : "The app's reads from a replica (read-only): TLS required, the server's certificate from Rampart's internal CA.",
      purpose: "queries",
    },
    // Replicas read the primary's binary log.
    ...(role === "db-primary"
      ? [
          {
            port: MYSQL_PORT,
            from: { kind: "role" as const, role: "db-replica" as const },
            protection: "tls" as const,
            label: "TLS (internal CA)",
            detail: "Replication: each replica reads the primary's binary log over TLS, verifying the primary's certificate, with an account of its own.",
            purpose: "replication",
          },
        ]
      : []),
  ],
  // A replica is set up from its primary: it cannot be converged while the primary is out of reach.
  dependsOn: role === "db-replica" ? (t) => t.hosts.filter((x) => x.roles.includes("db-primary")).map((x) => x.serverId) : undefined,
});

export const dbPrimary = module("db-primary", "Database primary");
export const dbReplica = module("db-replica", "Database replica");
