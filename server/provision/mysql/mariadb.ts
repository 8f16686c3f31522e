// MariaDB, the MySQL server Debian ships: every flavour-specific name, setting and
// SQL statement is here, behind the small MysqlFlavour interface, so that MySQL 8
// can be added where a host's archive offers it. Pure: text in, text out.
import { createHash } from "node:crypto";
import type { MysqlFlavour, MysqlStatement, ServerConfig } from "./types";

/** A string literal (MariaDB's default sql_mode: backslash escapes). */
export const sqlString = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\0/g, "\\0").replace(/\n/g, "\\n").replace(/\r/g, "\\r")}'`;
/** An identifier (a database name). */
export const sqlIdent = (s: string) => `\`${s.replace(/`/g, "``")}\``;
const account = (user: string, host: string) => `${sqlString(user)}@${sqlString(host)}`;

/** mysql_native_password's stored form: "*" + SHA1(SHA1(password)), so the password itself never reaches the server's command line or log. */
export function nativePasswordHash(password: string): string {
  const once = createHash("sha1").update(password, "utf8").digest();
  return `*${createHash("sha1").update(once).digest("hex").toUpperCase()}`;
}

// The observe probe's SQL: every row tagged with what it is (tab-separated, -N -B).
const PROBE_SQL = [
  "SELECT 'vars', @@server_id, @@read_only, @@gtid_strict_mode, @@log_bin, @@require_secure_transport, @@have_ssl, @@gtid_current_pos, @@gtid_slave_pos, @@gtid_binlog_pos, @@version",
  "SELECT 'user', User, Host, authentication_string, ssl_type, Select_priv, Process_priv, Repl_slave_priv, Repl_client_priv FROM mysql.user WHERE User LIKE 'rampart\\_%'",
  "SELECT 'dbgrant', User, Host, Db FROM mysql.db WHERE User LIKE 'rampart\\_%'",
  "SELECT 'locked', User, Host FROM mysql.global_priv WHERE User LIKE 'rampart\\_%' AND JSON_VALUE(Priv, '$.account_locked') = 'true'",
  "SELECT 'schema', SCHEMA_NAME FROM information_schema.SCHEMATA",
].join(";\n");

function statementSql(s: MysqlStatement): string[] {
  switch (s.do) {
    case "create-database":
      return [`CREATE DATABASE IF NOT EXISTS ${sqlIdent(s.name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`];
    case "user": {
      const who = account(s.user, s.host);
      const auth = `IDENTIFIED BY PASSWORD ${sqlString(s.hash)} REQUIRE ${s.requireSsl ? "SSL" : "NONE"}`;
      return [`CREATE USER IF NOT EXISTS ${who} ${auth}`, `ALTER USER ${who} ${auth} ACCOUNT UNLOCK`, ...s.grants.map((g) => `GRANT ${g.privileges.join(", ")} ON ${g.on} TO ${who}`)];
    }
    case "drop-user":
      return [`DROP USER IF EXISTS ${account(s.user, s.host)}`];
    case "read-only":
      return [`SET GLOBAL read_only = ${s.on ? "ON" : "OFF"}`];
    case "stop-replication":
      return ["STOP SLAVE", "RESET SLAVE ALL"];
    case "reset-binlog":
      return ["RESET MASTER"];
    case "replicate":
      return [
        "STOP SLAVE",
        `CHANGE MASTER TO MASTER_HOST = ${sqlString(s.source.host)}, MASTER_PORT = ${s.source.port}, MASTER_USER = ${sqlString(s.source.user)}, MASTER_PASSWORD = ${sqlString(s.password.reveal())}, MASTER_SSL = 1, MASTER_SSL_CA = ${sqlString(s.caFile)}, MASTER_SSL_VERIFY_SERVER_CERT = 1, MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 5`,
        "START SLAVE",
      ];
    case "start-replication":
      return ["START SLAVE"];
    case "seed":
      throw new Error("a seed is not SQL: it is the source's dump, loaded here");
  }
}

/** The same statements as an operator reads them in a plan: passwords and hashes left out. */
function describeStatement(s: MysqlStatement): string {
  switch (s.do) {
    case "user":
      return `create or update user ${account(s.user, s.host)} (password set by Rampart, ${s.requireSsl ? "TLS required" : "socket only"}): ${s.grants.map((g) => `${g.privileges.join(", ")} ON ${g.on}`).join("; ")}`;
    case "replicate":
      return `replicate from ${s.source.host}:${s.source.port} as ${s.source.user} over TLS (verified against ${s.caFile}), GTID positioning (slave_pos)`;
    case "seed":
      return `load a consistent dump of ${s.from.name} (every database, streamed through Rampart), its GTID position included`;
    default:
      return statementSql(s).join("; ");
  }
}

// The replica's side of a seed: the load is not written to its own binary log (no
// errant GTIDs), and the GTID position the dump records (commented out by
// --master-data=2) becomes its slave position.
const SEED_SINK_SCRIPT = '{ echo "SET SESSION sql_log_bin = 0;"; sed -e "s/^-- SET GLOBAL gtid_slave_pos=/SET GLOBAL gtid_slave_pos=/"; } | "$1" --batch';

function renderServerConfig(c: ServerConfig): string {
  return `# Managed by Rampart: MariaDB for ${c.siteName}. Edits are replaced on the next apply.
[mariadbd]
server_id = ${c.serverId}
bind_address = ${c.bindAddress}
skip_name_resolve = ON
# The binary log with GTIDs: replicas follow it by position, and a promoted replica takes over.
log_bin = mariadb-bin
log_bin_index = mariadb-bin.index
relay_log = relay-bin
binlog_format = ROW
log_slave_updates = ON
gtid_domain_id = 0
gtid_strict_mode = ON
binlog_expire_logs_seconds = 604800
# TLS from Rampart's internal CA; every TCP connection must use it.
ssl_ca = ${c.caFile}
ssl_cert = ${c.certFile}
ssl_key = ${c.keyFile}
require_secure_transport = ON
`;
}

function renderRoleConfig(c: { siteName: string; readOnly: boolean }): string {
  return `# Managed by Rampart: this server's replication role in ${c.siteName} (set live by Rampart too: a change needs no restart).
[mariadbd]
read_only = ${c.readOnly ? "ON" : "OFF"}
`;
}

export const MARIADB: MysqlFlavour = {
  name: "MariaDB",
  package: "mariadb-server",
  unit: "mariadb",
  client: "mariadb",
  user: "mysql",
  configDir: "/etc/mysql/mariadb.conf.d",
  probeSql: PROBE_SQL,
  statementSql,
  describeStatement,
  renderServerConfig,
  renderRoleConfig,
  showReplicaStatus: "SHOW SLAVE STATUS",
  fenceSql: (accounts) =>
    [
      "SET SESSION sql_log_bin = 0",
      "SET GLOBAL read_only = ON",
      ...accounts.map((a) => `ALTER USER IF EXISTS ${account(a.user, a.host)} ACCOUNT LOCK`),
      ...[...new Set(accounts.map((a) => a.user))].map((u) => `KILL CONNECTION USER ${sqlString(u)}`),
      "SELECT @@gtid_binlog_pos",
    ].join(";\n"),
  gtidWaitSql: (gtid, timeoutS) => `SELECT MASTER_GTID_WAIT(${sqlString(gtid)}, ${Math.max(0, Math.floor(timeoutS))})`,
  promoteSql: ["STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only = OFF", "SELECT @@gtid_current_pos"].join(";\n"),
  positionsSql: "SELECT @@read_only, @@gtid_binlog_state, @@gtid_binlog_pos, @@gtid_current_pos, @@gtid_slave_pos",
  dumpCommand: () => ({
    argv: ["mariadb-dump", "--all-databases", "--single-transaction", "--gtid", "--master-data=2", "--routines", "--events", "--triggers", "--flush-privileges", "--ignore-table=mysql.gtid_slave_pos"],
    timeoutMs: 6 * 3600_000,
  }),
  loadCommand: () => ({ argv: ["sh", "-c", SEED_SINK_SCRIPT, "rampart-seed", "mariadb"], timeoutMs: 6 * 3600_000 }),
};
