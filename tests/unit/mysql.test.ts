// The database role's pure parts: the probe's parser, the diff of the server's own
// state (accounts, databases, read-only, replication), the statements rendered as
// commands (SQL on stdin, a seed as a pipe), and what the plan shows (no secrets).
import { describe, expect, it } from "vitest";
import { nativePasswordHash, sqlIdent, sqlString } from "@/server/provision/mysql/mariadb";
import { diffMysql, type MysqlObserved, type MysqlRes, parseMysqlProbe } from "@/server/provision/mysql/state";
import { renderAction } from "@/server/provision/resources";
import { databaseEnv } from "@/server/provision/roles/app";
import { desiredState, type TopologySpec } from "@/server/provision/roles";
import { desiredUsers, mysqlServerId } from "@/server/provision/roles/database";
import { planTopology, toPlanDto } from "@/server/provision/planner";
import { observeCommand, parseHostObservation } from "@/server/provision/observe";
import { Secret } from "@/server/secrets/secret";
import { DEFAULT_APP } from "@/server/schemas/topology";
import { testDatabase } from "../support/db-credentials";
import { SimHost } from "../support/host-sim";
import { parseDbStatus } from "@/workers/db-status";
import { errantGtids, formatGtids, gtidGap, parseGtids } from "@/server/provision/mysql/gtid";

const host = (n: number, roles: TopologySpec["hosts"][number]["roles"]) => ({ serverId: `s${n}`, name: `db${n}`, address: `10.0.0.${n}`, roles, monitoring: false, drained: false });
const hosts = [host(1, ["load-balancer", "web", "app"]), host(2, ["db-primary"]), host(3, ["db-replica"])];
const spec: TopologySpec = {
  id: "t",
  name: "shop.test",
  balance: "roundrobin",
  hosts,
  app: DEFAULT_APP,
  appEnv: [],
  database: testDatabase(hosts),
  tls: { caPem: "CA\n", siteBundle: "SITE\n", backends: new Map(hosts.map((h) => [h.serverId, { certPem: `CERT ${h.name}\n`, keyPem: `KEY ${h.name}\n` }])) },
};
const mysqlOf = (serverId: string) =>
  desiredState(spec)
    .get(serverId)!
    .resources.find((r): r is MysqlRes => r.kind === "mysql")!;

// What MariaDB 10.11 printed on the lab's primary and replica (trimmed), tab-separated as the probe reads it.
const UP_PRIMARY = [
  "vars\t1086955708\t0\t1\t1\t1\tYES\t0-1086955708-11\t\t0-1086955708-11\t10.11.19-MariaDB-0+deb12u1-log",
  `user\trampart_app\t10.0.0.1\t${nativePasswordHash("app-password-for-tests")}\tANY\tN\tN\tN\tN`,
  `user\trampart_repl\t10.0.0.3\t${nativePasswordHash("repl-password-s3")}\tANY\tN\tN\tY\tN`,
  `user\trampart_monitor\tlocalhost\t${nativePasswordHash("monitor-password-for-tests")}\t\tY\tY\tN\tY`,
  "dbgrant\trampart_app\t10.0.0.1\tapp",
  "schema\tapp",
  "schema\trampart_check",
  "schema\tmysql",
];
const SLAVE_HEADER =
  "slave\tSlave_IO_State\tMaster_Host\tMaster_User\tMaster_Port\tSlave_IO_Running\tSlave_SQL_Running\tLast_Error\tSeconds_Behind_Master\tMaster_SSL_Allowed\tMaster_SSL_Verify_Server_Cert\tUsing_Gtid\tGtid_IO_Pos\tLast_SQL_Error";
const slaveRow = (host: string, io: string, sql: string, sqlError = "") =>
  `slave\tWaiting for master\t${host}\trampart_repl\t3306\t${io}\t${sql}\t\t0\tYes\tYes\tSlave_Pos\t0-1086955708-11\t${sqlError}`;

describe("MariaDB flavour", () => {
  it("stores mysql_native_password's hash, never the password, and quotes strings and identifiers", () => {
    expect(nativePasswordHash("password")).toBe("*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19");
    expect(sqlString("it's a \\ test\n")).toBe("'it\\'s a \\\\ test\\n'");
    expect(sqlIdent("we`ird")).toBe("`we``ird`");
  });

  it("gives each member a stable server_id of its own", () => {
    expect(mysqlServerId("s2")).toBe(mysqlServerId("s2"));
    expect(mysqlServerId("s2")).not.toBe(mysqlServerId("s3"));
    expect(mysqlServerId("s2")).toBeGreaterThan(0);
  });
});

describe("the database server's probe", () => {
  it("parses the server's variables, Rampart's accounts, databases and the replication status", () => {
    const o = parseMysqlProbe([
      "marker\tabc123",
      ...UP_PRIMARY.map((l) => l.replace("\t0\t1\t1\t1\tYES", "\t1\t1\t1\t1\tYES")),
      SLAVE_HEADER,
      slaveRow("10.0.0.2", "Yes", "No", "Duplicate entry '5' for key 'PRIMARY'"),
    ]);
    expect(o).toMatchObject({
      state: "up",
      marker: "abc123",
      vars: { serverId: 1086955708, readOnly: true, gtidStrict: true, logBin: true, secureTransport: true, ssl: "YES", gtidCurrent: "0-1086955708-11" },
    });
    expect(o.users.map((u) => `${u.user}@${u.host}:${u.ssl}`)).toEqual(["rampart_app@10.0.0.1:ANY", "rampart_repl@10.0.0.3:ANY", "rampart_monitor@localhost:"]);
    expect(o.users[2]!.global).toEqual({ select: true, process: true, replSlave: false, replClient: true });
    expect(o.schemas).toEqual(["app", "rampart_check", "mysql"]);
    expect(o.replica).toMatchObject({
      sourceHost: "10.0.0.2",
      io: "Yes",
      sql: "No",
      usingGtid: "Slave_Pos",
      ssl: true,
      sslVerify: true,
      lagS: 0,
      lastSqlError: "Duplicate entry '5' for key 'PRIMARY'",
    });
  });

  it("tells a server that is not installed or not running from one Rampart cannot log in to", () => {
    expect(parseMysqlProbe(["absent"]).state).toBe("absent");
    const down = parseMysqlProbe(["down\tERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)"]);
    expect(down).toMatchObject({ state: "down", error: expect.stringContaining("Can't connect") });
    // Not running: the plan sets everything up once it starts.
    expect(diffMysql(mysqlOf("s2"), down)!.statements.map((s) => s.do)).toEqual(["create-database", "create-database", "user", "user", "user", "read-only"]);
    // Running, with a root password Rampart does not know: the host cannot be planned, and the plan says why.
    const denied = parseMysqlProbe(["down\tERROR 1698 (28000): Access denied for user 'root'@'localhost'"]);
    expect(() => diffMysql(mysqlOf("s2"), denied)).toThrow(/runs, but Rampart cannot log in as root over its socket \(ERROR 1698.*unix_socket/);
  });
});

describe("the primary's accounts and databases", () => {
  const up = (lines: string[]): MysqlObserved => parseMysqlProbe(lines);

  it("plans nothing when every account, grant and database is as wanted", () => {
    expect(diffMysql(mysqlOf("s2"), up(UP_PRIMARY))).toBeNull();
  });

  it("one account per app server (TLS required, its database only), one replication account per replica, a local read-only monitoring account", () => {
    expect(desiredUsers(spec).map((u) => ({ who: `${u.user}@${u.host}`, tls: u.requireSsl, grants: u.grants.map((g) => `${g.privileges.join(",")} ON ${g.on}`) }))).toEqual([
      { who: "rampart_app@10.0.0.1", tls: true, grants: ["ALL PRIVILEGES ON `app`.*"] },
      { who: "rampart_repl@10.0.0.3", tls: true, grants: ["REPLICATION SLAVE ON *.*"] },
      { who: "rampart_monitor@localhost", tls: false, grants: ["SELECT,PROCESS,BINLOG MONITOR,SLAVE MONITOR ON *.*"] },
    ]);
  });

  it("resets a changed password, restores a lost grant or TLS requirement, drops an account no longer needed, and makes the primary writable", () => {
    const lines = UP_PRIMARY.map((l) =>
      l.startsWith("user\trampart_app") ? l.replace(/\*[0-9A-F]{40}/, nativePasswordHash("changed by hand")) : l.startsWith("user\trampart_repl") ? l.replace("\tANY\t", "\t\t") : l,
    )
      .filter((l) => !l.startsWith("dbgrant"))
      .map((l) => (l.startsWith("vars") ? l.replace("\t0\t1\t1\t1\tYES", "\t1\t1\t1\t1\tYES") : l));
    lines.push(`user\trampart_old\t10.9.9.9\t${nativePasswordHash("x")}\tANY\tN\tN\tN\tN`);
    const c = diffMysql(mysqlOf("s2"), up(lines))!;
    expect(c.reasons).toEqual([
      "account rampart_app@10.0.0.1 (the app on db1) has another password",
      "account rampart_repl@10.0.0.3 (replication to db3) does not require TLS",
      "account rampart_old@10.9.9.9 is no longer needed",
      "it is read-only, but it is the primary",
    ]);
    expect(c.statements.map((s) => s.do)).toEqual(["user", "user", "drop-user", "read-only"]);
  });

  it("a promoted primary forgets the record of its old source (it could resume from a stale position later)", () => {
    const c = diffMysql(mysqlOf("s2"), up(["marker\tabc", ...UP_PRIMARY]))!;
    expect(c).toEqual({ statements: [{ do: "stop-replication" }], reasons: ["it was set up as a replica before: the record of its source is removed"] });
    expect(renderAction({ op: "mysql", flavour: "mariadb", statements: c.statements }).before.map((x) => x.argv.join(" "))).toEqual([
      "mariadb --batch --connect-timeout=10",
      "rm -f -- /var/lib/rampart/mysql-source",
    ]);
  });

  it("stops a promoted primary's old replication", () => {
    const c = diffMysql(mysqlOf("s2"), up([...UP_PRIMARY, SLAVE_HEADER, slaveRow("10.0.0.3", "Yes", "Yes")]))!;
    expect(c.statements).toEqual([{ do: "stop-replication" }]);
    expect(c.reasons[0]).toMatch(/still replicates from 10.0.0.3, but it is the primary/);
  });
});

describe("the replica", () => {
  const replicaUp = (extra: string[], readOnly = true) => parseMysqlProbe([...extra, UP_PRIMARY[0]!.replace("\t0\t1\t1\t1\tYES", `\t${readOnly ? 1 : 0}\t1\t1\t1\tYES`)]);
  const key = () => mysqlOf("s3").replication!.markerKey;

  it("a new replica is loaded from its source's dump, then replicates with GTIDs over verified TLS", () => {
    const c = diffMysql(mysqlOf("s3"), parseMysqlProbe(["absent"]))!;
    expect(c.statements.map((s) => s.do)).toEqual(["read-only", "stop-replication", "reset-binlog", "seed", "replicate"]);
    const r = renderAction({ op: "mysql", flavour: "mariadb", statements: c.statements });
    // Before the seed: read-only, replication stopped, its own binary log emptied (no errant GTIDs).
    expect(r.before).toHaveLength(2);
    expect(r.before[0]!.argv).toEqual(["mariadb", "--batch", "--connect-timeout=10"]);
    expect(r.before[1]!.argv).toEqual(["rm", "-f", "--", "/var/lib/rampart/mysql-source"]); // forgotten with the old replication
    expect(String(r.before[0]!.stdin)).toBe("SET GLOBAL read_only = ON;\nSTOP SLAVE;\nRESET SLAVE ALL;\nRESET MASTER;\n");
    // The seed: the source's consistent dump with its GTID position, loaded without binary logging here.
    expect(r.pipe!.from).toEqual({ serverId: "s2", name: "db2" });
    expect(r.pipe!.source.argv).toEqual(expect.arrayContaining(["mariadb-dump", "--all-databases", "--single-transaction", "--gtid", "--master-data=2", "--ignore-table=mysql.gtid_slave_pos"]));
    expect(r.pipe!.sink.argv.join(" ")).toMatch(/sql_log_bin = 0.*SET GLOBAL gtid_slave_pos=/);
    // After: CHANGE MASTER with the password on stdin only (a Secret, redacted from its output), then the marker.
    const change = r.after[0]!;
    expect(change.stdin).toBeInstanceOf(Secret);
    expect((change.stdin as Secret).reveal()).toMatch(
      /CHANGE MASTER TO MASTER_HOST = '10.0.0.2', MASTER_PORT = 3306, MASTER_USER = 'rampart_repl', MASTER_PASSWORD = 'repl-password-s3', MASTER_SSL = 1, MASTER_SSL_CA = '\/etc\/mysql\/rampart\/ca.pem', MASTER_SSL_VERIFY_SERVER_CERT = 1, MASTER_USE_GTID = slave_pos/,
    );
    expect(change.secrets!.map((s) => s.reveal())).toEqual(["repl-password-s3"]);
    expect(JSON.stringify([change.argv, r.after[1]!.argv])).not.toContain("repl-password-s3");
    expect(r.after[1]!.argv).toEqual(["sh", "-c", expect.any(String), "rampart-marker", "/var/lib/rampart/mysql-source", key()]);
  });

  it("plans nothing while it replicates from its primary with the credentials it was set up with", () => {
    expect(diffMysql(mysqlOf("s3"), replicaUp([`marker\t${key()}`, SLAVE_HEADER, slaveRow("10.0.0.2", "Yes", "Yes")]))).toBeNull();
    // The IO thread reconnecting is not "stopped" (the check reports it).
    expect(diffMysql(mysqlOf("s3"), replicaUp([`marker\t${key()}`, SLAVE_HEADER, slaveRow("10.0.0.2", "Connecting", "Yes")]))).toBeNull();
  });

  it("a replica that is only stopped resumes where it was once started; a new or unknown one is loaded again", () => {
    const stopped = parseMysqlProbe([`marker\t${key()}`, "down\tERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)"]);
    expect(diffMysql(mysqlOf("s3"), stopped)).toEqual({ statements: [{ do: "read-only", on: true }, { do: "start-replication" }], reasons: [expect.stringMatching(/resumes replicating/)] });
    const unknown = parseMysqlProbe(["marker\tfrom-another-source", "down\tERROR 2002 (HY000): Can't connect to local server through socket"]);
    expect(diffMysql(mysqlOf("s3"), unknown)!.statements.map((s) => s.do)).toContain("seed");
  });

  it("restarts stopped replication, sets it up again when its credentials changed, reloads it when it follows another server, and makes it read-only", () => {
    const stopped = diffMysql(mysqlOf("s3"), replicaUp([`marker\t${key()}`, SLAVE_HEADER, slaveRow("10.0.0.2", "Yes", "No", "Duplicate entry")]))!;
    expect(stopped).toEqual({ statements: [{ do: "start-replication" }], reasons: ["replication is stopped (IO thread Yes, SQL thread No): Duplicate entry"] });
    const changed = diffMysql(mysqlOf("s3"), replicaUp(["marker\tsomething-else", SLAVE_HEADER, slaveRow("10.0.0.2", "Yes", "Yes")]))!;
    expect(changed.statements.map((s) => s.do)).toEqual(["replicate"]);
    const elsewhere = diffMysql(mysqlOf("s3"), replicaUp([`marker\t${key()}`, SLAVE_HEADER, slaveRow("10.0.0.9", "Yes", "Yes")], false))!;
    expect(elsewhere.statements.map((s) => s.do)).toEqual(["read-only", "stop-replication", "reset-binlog", "seed", "replicate"]);
    expect(elsewhere.reasons).toEqual(["it is writable, but it is a replica", "it replicates from 10.0.0.9, not from db2 (10.0.0.2)"]);
  });
});

describe("a database topology's plan", () => {
  it("binds each server to its address with TLS and GTIDs, hands the app its credentials in its secret file, and shows no password or hash", () => {
    const desired = desiredState(spec);
    const primaryCnf = desired.get("s2")!.resources.find((r) => r.kind === "file" && r.path.endsWith("90-rampart.cnf"));
    expect(primaryCnf).toMatchObject({ content: expect.stringContaining("bind_address = 10.0.0.2\n") });
    for (const line of ["gtid_strict_mode = ON", "require_secure_transport = ON", "log_bin = mariadb-bin", `server_id = ${mysqlServerId("s2")}`])
      expect(primaryCnf).toMatchObject({ content: expect.stringContaining(line) });
    expect(desired.get("s3")!.resources.find((r) => r.kind === "file" && r.path.endsWith("91-rampart-role.cnf"))).toMatchObject({ content: expect.stringContaining("read_only = ON") });
    expect(desired.get("s2")!.checks.map((c) => c.check.kind)).toEqual(["listening", "running-config", "mysql-server"]);
    expect(desired.get("s3")!.checks.map((c) => c.check.kind)).toEqual(["listening", "running-config", "mysql-server", "replication"]);

    const env = Object.fromEntries(databaseEnv(spec));
    expect(env).toMatchObject({
      DB_HOST: "10.0.0.2",
      DB_USER: "rampart_app",
      DB_NAME: "app",
      DB_PASSWORD: "app-password-for-tests",
      DB_REPLICA_HOSTS: "10.0.0.3",
      DB_SSL_CA: "/etc/rampart/tls/ca.pem",
    });
    expect(env.DATABASE_URL).toBe("mysql://rampart_app:app-password-for-tests@10.0.0.2:3306/app?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fetc%2Frampart%2Ftls%2Fca.pem");
    const envFile = desired.get("s1")!.resources.find((r) => r.kind === "file" && r.path === "/etc/rampart/app.env");
    expect(envFile).toMatchObject({ secret: true, mode: 0o600 });

    // The whole plan of fresh hosts, as the console and API show it.
    const sims = new Map(hosts.map((h) => [h.serverId, new SimHost(new Map())]));
    const observations = new Map(
      hosts.map((h) => {
        const d = desired.get(h.serverId)!;
        const parsed = parseHostObservation(d.resources, {}, sims.get(h.serverId)!.observeOutput(d.resources));
        return [h.serverId, { ok: true as const, observed: parsed.resources, listeners: null, fresh: new Map() }];
      }),
    );
    const shown = JSON.stringify(toPlanDto(planTopology(spec, desired, observations, new Date())));
    for (const secret of ["app-password-for-tests", "repl-password-s3", "monitor-password-for-tests", nativePasswordHash("app-password-for-tests").slice(1)]) expect(shown).not.toContain(secret);
    expect(shown).toContain("replicate from 10.0.0.2:3306 as rampart_repl over TLS");
    expect(observeCommand(desired.get("s2")!.resources).argv.join(" ")).not.toContain("password");
  });
});

describe("the database status the worker reads", () => {
  it("reads a replica's variables and replication status from one batch-mode answer", () => {
    const out = [
      "read_only\tgtid_current\tgtid_binlog",
      "1\t0-1086955708-15\t",
      "Slave_IO_State\tMaster_Host\tMaster_User\tMaster_Port\tSlave_IO_Running\tSlave_SQL_Running\tSeconds_Behind_Master\tMaster_SSL_Allowed\tMaster_SSL_Verify_Server_Cert\tUsing_Gtid\tGtid_IO_Pos\tLast_IO_Error\tLast_SQL_Error",
      "Waiting for master to send event\t10.0.0.2\trampart_repl\t3306\tYes\tNo\tNULL\tYes\tYes\tSlave_Pos\t0-1086955708-16\t\tError 'Duplicate entry' on query\\nDefault database: 'app'",
      "",
    ].join("\n");
    expect(parseDbStatus(out)).toEqual({
      readOnly: true,
      gtidCurrent: "0-1086955708-15",
      gtidBinlog: "",
      replication: {
        source: "10.0.0.2",
        io: "Yes",
        sql: "No",
        lagS: null,
        usingGtid: "Slave_Pos",
        tls: true,
        gtidReceived: "0-1086955708-16",
        lastIoError: "",
        lastSqlError: "Error 'Duplicate entry' on query\nDefault database: 'app'",
      },
    });
    expect(parseDbStatus("read_only\tgtid_current\tgtid_binlog\n0\t0-1-9\t0-1-9\n")).toEqual({ readOnly: false, gtidCurrent: "0-1-9", gtidBinlog: "0-1-9", replication: null });
  });
});

describe("GTIDs", () => {
  it("finds the transactions a candidate wrote itself, which its primary never had", () => {
    // The primary (server 11) wrote up to 40; the replica (server 22) received them, then wrote one of its own.
    expect(errantGtids("0-11-40,0-22-41", "0-11-40")).toEqual([{ domain: 0, server: 22, seq: 41 }]);
    expect(formatGtids(errantGtids("0-11-40,0-22-41", "0-11-40"))).toBe("0-22-41");
    // Everything it has came from the primary (also from an earlier primary, 7): nothing errant.
    expect(errantGtids("0-7-12,0-11-40", "0-7-12,0-11-45")).toEqual([]);
    expect(errantGtids("", "0-11-40")).toEqual([]);
    // A sequence past the primary's for the same server: written there after the primary stopped? It is not on the primary.
    expect(errantGtids("0-11-41", "0-11-40")).toEqual([{ domain: 0, server: 11, seq: 41 }]);
  });

  it("counts the transactions a position is ahead of another, per domain", () => {
    expect(gtidGap("0-11-45", "0-11-40")).toEqual([{ domain: 0, missing: 5, ahead: "0-11-45", behind: "0-11-40" }]);
    expect(gtidGap("0-11-45,1-11-3", "0-11-45")).toEqual([{ domain: 1, missing: 3, ahead: "1-11-3", behind: null }]);
    expect(gtidGap("0-11-40", "0-11-40")).toEqual([]);
    expect(() => parseGtids("0-11")).toThrow(/not a GTID/);
  });
});
