// The database roles on the lab (issue 13): MariaDB as a primary and a GTID replica
// over TLS, the app's credentials, the sample app writing and reading through the
// load balancer. The primary starts as servers come: MariaDB already installed by
// hand, holding data written before its binary log existed (so only a dump can
// bring it to the replica).
import { execFileSync, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { ensureLab, labSsh, labSshArgs, type LabInfo } from "@/e2e/lab/fixture";
import { shellQuote } from "@/server/provision/command";
import type { Db } from "@/server/db";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology, planTopologyRun } from "@/server/services/topologies";
import { caCertificate } from "@/server/services/certificates";
import { topologySecret } from "@/server/services/topology-secrets";
import { databaseView } from "@/server/services/databases";
import { TopologyInput } from "@/server/schemas/topology";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";

const SITE = "shop.db.test";
let lab: LabInfo;
let db: Db;
let dir: string;
let redis: TestRedis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let box: SecretBox;
let topologyId: string;
let caFile: string;
const caller = { name: "tester@example.test" };
const front = () => lab.hosts[0]!;
const primary = () => lab.hosts[1]!;
const replica = () => lab.hosts[2]!;

async function finished(runId: string) {
  return waitUntil(
    async () => {
      const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
      return r.status !== "queued" && r.status !== "running" ? r : null;
    },
    600_000,
    `run ${runId}`,
  );
}
const eventsText = async (runId: string) => (await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } })).map((e) => `${e.host ?? "-"}: ${e.text}`).join("\n");

async function applied() {
  const run = await applyTopologyRun({ db, queue }, caller, topologyId);
  const r = await finished(run.id);
  const events = await eventsText(run.id);
  writeFileSync(path.join(dir, `run-${run.id}.log`), events);
  if (r.status !== "succeeded") throw new Error(`run ${r.status}: ${r.outcome} (events: ${path.join(dir, `run-${run.id}.log`)})`);
  return { run: r, events };
}

/** SQL as root on a lab host (its socket): rows of tab-separated columns. */
async function sql(host: string, query: string): Promise<string[][]> {
  const r = await labSsh(host, ["mariadb", "-NB", "-e", query]);
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"));
}

/** The site through the load balancer, trusting only Rampart's CA. */
function site(method: "GET" | "POST", urlPath: string, body?: string): { status: number; json: Record<string, unknown> } {
  const out = execFileSync(
    "curl",
    [
      "-sS",
      "--max-time",
      "10",
      "--cacert",
      caFile,
      "--resolve",
      `${SITE}:443:${front().address}`,
      "-X",
      method,
      ...(body !== undefined ? ["--data-binary", body] : []),
      "-w",
      "\n%{http_code}",
      `https://${SITE}${urlPath}`,
    ],
    { encoding: "utf8" },
  );
  const nl = out.lastIndexOf("\n");
  return { status: Number(out.slice(nl + 1)), json: JSON.parse(out.slice(0, nl) || "{}") as Record<string, unknown> };
}

beforeAll(async () => {
  const info = await ensureLab(3);
  lab = { ...info, hosts: info.hosts.slice(0, 3) };
  redis = await startRedis();
  let url: string;
  ({ db, dir, url } = await createTestDb());
  box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  worker = startWorker({ DATA_DIR: dir, DATABASE_URL: url, REDIS_URL: redis.url, DRIFT_CHECK_INTERVAL_S: "0" });
  const ids = await registerFreshLabHosts(db, box, lab, lab.hosts);
  topologyId = (
    await createTopology(
      db,
      TopologyInput.parse({
        name: SITE,
        members: [
          { serverId: ids[0], roles: ["load-balancer", "web", "app"], monitoring: false },
          { serverId: ids[1], roles: ["db-primary"], monitoring: false },
          { serverId: ids[2], roles: ["db-replica"], monitoring: false },
        ],
      }),
    )
  ).id;
  caFile = path.join(dir, "ca.pem");
  writeFileSync(caFile, (await caCertificate(db, box)).certPem);
}, 900_000);

afterAll(async () => {
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await queue?.close();
  await db?.$disconnect();
  await redis?.stop();
});

describe("MariaDB primary and replica on the lab", () => {
  it("takes over a primary that already holds data, loads the replica from its dump, and proves replication after the apply", async () => {
    // As servers come: MariaDB installed by hand, with a database written before any binary log.
    await labSsh(primary().name, [
      "sh",
      "-c",
      "export DEBIAN_FRONTEND=noninteractive; apt-get -q update >/dev/null && apt-get -q -y install --no-install-recommends mariadb-server >/dev/null && " +
        "mariadb -e \"CREATE DATABASE legacy; CREATE TABLE legacy.orders (id INT PRIMARY KEY, item VARCHAR(40)); INSERT INTO legacy.orders VALUES (1, 'anvil'), (2, 'rope'), (3, 'rocket')\"",
    ]);

    const { events } = await applied();
    expect(events).toMatch(/lab3: loaded [\d.]+ MB from lab2/);
    expect(events).toMatch(/lab2: check passed: database server settings \(primary\)/);
    expect(events).toMatch(/lab3: check passed: database server settings \(replica\)/);
    expect(events).toMatch(/lab3: check passed: replication from the primary: threads running over TLS, \d+ s behind; a row written on lab2 arrived in \d+ ms/);
    // The passwords Rampart made are nowhere in the run's output.
    for (const name of ["mysql-app", "mysql-monitor"]) expect(events).not.toContain((await topologySecret(db, box, topologyId, name, false)).reveal());

    // The data the primary held before Rampart reached the replica through the dump.
    expect(await sql(replica().name, "SELECT id, item FROM legacy.orders ORDER BY id")).toEqual([
      ["1", "anvil"],
      ["2", "rope"],
      ["3", "rocket"],
    ]);
    // Each member: its own server_id, the binary log with strict GTIDs, TLS required; the replica read-only.
    const vars = async (host: string) => (await sql(host, "SELECT @@server_id, @@gtid_strict_mode, @@log_bin, @@require_secure_transport, @@have_ssl, @@read_only"))[0];
    const [p, r] = [await vars(primary().name), await vars(replica().name)];
    expect(p!.slice(1)).toEqual(["1", "1", "1", "YES", "0"]);
    expect(r!.slice(1)).toEqual(["1", "1", "1", "YES", "1"]);
    expect(p![0]).not.toBe(r![0]);
  });

  it("the app writes through the load balancer with the credentials it was given; the row reaches the replica within 1 s; a write on the replica is refused", async () => {
    await waitUntil(
      async () => {
        try {
          return site("GET", "/db").status === 200;
        } catch {
          return false;
        }
      },
      20_000,
      "the app to answer /db",
    );
    const first = site("POST", "/db", "warm-up");
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    expect(first.json.server).toBe(primary().address);
    expect(String(first.json.tls)).toMatch(/^TLS_|ECDHE|AES/); // the app's own connection is TLS (its session's Ssl_cipher)

    // Watch the replica for the row from the replica itself (the lab's hosts share this machine's clock).
    const note = `row-${Date.now()}`;
    const script =
      'i=0; while [ $i -lt 1000 ]; do n=$(mariadb -NB -e "SELECT COUNT(*) FROM app.sample_rows WHERE note = \'$1\'"); [ "$n" = 1 ] && { date +%s%3N; exit 0; }; sleep 0.01; i=$((i+1)); done; exit 1';
    const watcher = spawn("ssh", [...(await labSshArgs(replica().name)), "--", ["sh", "-c", script, "watch", note].map(shellQuote).join(" ")], { stdio: ["ignore", "pipe", "inherit"] });
    let seenAt = "";
    watcher.stdout.on("data", (d: Buffer) => (seenAt += d.toString()));
    const watching = new Promise<number>((resolve) => watcher.on("exit", (code) => resolve(code ?? 1)));
    await new Promise((r) => setTimeout(r, 1500));
    const wrote = site("POST", "/db", note);
    const ackedAt = Date.now();
    expect(wrote.status, JSON.stringify(wrote.json)).toBe(200);
    expect(await watching).toBe(0);
    const lagMs = Number(seenAt.trim()) - ackedAt;
    console.log(`row visible on the replica ${lagMs} ms after the app acknowledged it`);
    expect(lagMs).toBeLessThan(1000);

    // Reads from the replica with the same credentials; a write there is refused (read_only).
    const read = site("GET", "/db/replica");
    expect(read.status).toBe(200);
    expect(read.json).toMatchObject({ server: replica().address, last: wrote.json.id });
    const refused = site("POST", "/db/replica", "must not land");
    expect(refused.status).toBe(409);
    expect(String(refused.json.error)).toMatch(/read-only|read_only/i);
    expect(await sql(replica().name, "SELECT COUNT(*) FROM app.sample_rows WHERE note = 'must not land'")).toEqual([["0"]]);
  });

  it("replication is TLS: the primary refuses a plain connection, and counts the replica's TLS handshakes", async () => {
    const status = await labSsh(replica().name, ["mariadb", "-B", "-e", "SHOW SLAVE STATUS"]);
    const [head, row] = status.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    const s = Object.fromEntries(head!.map((k, i) => [k, row![i]]));
    expect(s).toMatchObject({
      Master_Host: primary().address,
      Slave_IO_Running: "Yes",
      Slave_SQL_Running: "Yes",
      Using_Gtid: "Slave_Pos",
      Master_SSL_Allowed: "Yes",
      Master_SSL_Verify_Server_Cert: "Yes",
    });
    // Status variables on the primary: the replica's connection is among the TLS ones it accepted.
    const [[, accepts]] = (await sql(primary().name, "SHOW GLOBAL STATUS LIKE 'Ssl_accepts'")) as [[string, string]];
    expect(Number(accepts)).toBeGreaterThan(0);
    // Without TLS, even the replication account with its right password is refused (REQUIRE SSL, require_secure_transport);
    // with TLS verified against Rampart's CA, the same account gets in.
    const lab3 = await db.server.findFirstOrThrow({ where: { name: replica().name } });
    const password = (await topologySecret(db, box, topologyId, `mysql-repl:${lab3.id}`, false)).reveal();
    const connect = (tls: string[]) =>
      labSsh(replica().name, ["env", `MYSQL_PWD=${password}`, "mariadb", ...tls, "-h", primary().address, "-u", "rampart_repl", "-NB", "-e", "SHOW STATUS LIKE 'Ssl_version'"], { check: false });
    const plain = await connect(["--skip-ssl"]);
    expect(plain.code).not.toBe(0);
    // (MariaDB refuses the account, which requires TLS, before the transport rule: "Access denied".)
    expect(plain.stdout + plain.stderr).toMatch(/Access denied|insecure transport/i);
    const tls = await connect(["--ssl", "--ssl-ca=/etc/mysql/rampart/ca.pem", "--ssl-verify-server-cert"]);
    expect(tls.stderr).toBe("");
    expect(tls.stdout).toMatch(/^Ssl_version\tTLSv1\.[23]$/m);
  });

  it("the worker reads each server's replication state every few seconds, for the console and the API", async () => {
    const view = await waitUntil(
      async () => {
        const v = await databaseView(db, topologyId);
        return v.status && Date.now() - v.status.at.getTime() < 15_000 ? v : null;
      },
      30_000,
      "the database status",
    );
    expect(view.members.map((m) => `${m.name}:${m.role}`)).toEqual([`${primary().name}:primary`, `${replica().name}:replica`]);
    const [p, r] = [view.status!.members.find((m) => m.role === "primary")!, view.status!.members.find((m) => m.role === "replica")!];
    expect(p).toMatchObject({ error: null, readOnly: false, replication: null });
    expect(r).toMatchObject({ error: null, readOnly: true, replication: { source: primary().address, io: "Yes", sql: "Yes", usingGtid: "Slave_Pos", tls: true, lastSqlError: "" } });
    expect(r.replication!.lagS).toBeLessThanOrEqual(1);
    expect(p.gtidCurrent).toMatch(/^0-\d+-\d+$/);
    expect(r.replication!.gtidReceived).toBe(p.gtidBinlog);
  });

  it("a second apply of the converged database topology plans nothing", async () => {
    const run = await planTopologyRun({ db, queue }, caller, topologyId);
    const r = await finished(run.id);
    expect(r.outcome).toMatch(/^no changes/);
    expect(r.status).toBe("succeeded");
  });
});
