// The database roles on the lab (issue 13): MariaDB as a primary and a GTID replica
// over TLS, the app's credentials, the sample app writing and reading through the
// load balancer. The primary starts as servers come: MariaDB already installed by
// hand, holding data written before its binary log existed (so only a dump can
// bring it to the replica).
import { execFileSync, spawn } from "node:child_process";
import https from "node:https";
import { readFileSync } from "node:fs";
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
import { databaseView, startPromotion } from "@/server/services/databases";
import { confirmRun } from "@/server/services/runs";
import { TopologyInput } from "@/server/schemas/topology";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";
import { FRESH_HOST_COMMAND } from "../support/fresh-host";

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
let dbUrl: string;
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

/** Seconds_Behind_Master of a replica (-1 when unknown). */
async function lagOf(host: string): Promise<number> {
  const r = await labSsh(host, ["mariadb", "-B", "-e", "SHOW SLAVE STATUS"]);
  const [head, row] = r.stdout
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  const v = row?.[head!.indexOf("Seconds_Behind_Master")];
  return v === undefined || v === "NULL" ? -1 : Number(v);
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
  dbUrl = url;
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
          // The database servers with their monitoring client: the mysqld exporter too.
          { serverId: ids[1], roles: ["db-primary"], monitoring: true },
          { serverId: ids[2], roles: ["db-replica"], monitoring: true },
        ],
      }),
    )
  ).id;
  caFile = path.join(dir, "ca.pem");
  writeFileSync(caFile, (await caCertificate(db, box)).certPem);
}, 900_000);

afterAll(async () => {
  // Leave the hosts as the other lab tests expect them: no firewall, no MariaDB.
  if (lab) await Promise.all(lab.hosts.map((h) => labSsh(h.name, FRESH_HOST_COMMAND, { check: false })));
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
    // The mysqld exporter: over TLS, Rampart's collector certificate required, logged in as rampart_monitor.
    for (const h of ["lab2", "lab3"])
      expect(events).toMatch(new RegExp(`${h}: check passed: mysqld exporter on :9104: answered with mysql_global_status_uptime; a client without a certificate was refused`));
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

  it("the promotion's preview refuses a candidate with an errant transaction (naming its GTID), a stopped SQL thread, or too much lag", async () => {
    const lab3 = await db.server.findFirstOrThrow({ where: { name: replica().name } });
    const refusedWith = async () => {
      const run = await startPromotion({ db, queue }, caller, { topologyId, candidateId: lab3.id, force: false });
      const r = await finished(run.id);
      expect(r.status).toBe("failed");
      return r.outcome ?? "";
    };
    // An errant transaction: written on the replica itself (root is not held back by read_only).
    await sql(replica().name, "INSERT INTO legacy.orders VALUES (99, 'errant')");
    const [[ownGtid]] = (await sql(replica().name, "SELECT @@gtid_binlog_pos")) as [[string]];
    expect(await refusedWith()).toMatch(new RegExp(`promotion refused: errant transactions on lab3: [0-9,-]*${ownGtid}.* never on the primary lab2`));
    await sql(replica().name, "SET SESSION sql_log_bin = 0; DELETE FROM legacy.orders WHERE id = 99; RESET MASTER");

    await sql(replica().name, "STOP SLAVE SQL_THREAD");
    expect(await refusedWith()).toMatch(/promotion refused: the SQL thread of lab3 is stopped/);
    await sql(replica().name, "START SLAVE SQL_THREAD");

    // Lag: a delayed replica falls behind a write on the primary.
    await sql(replica().name, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 60; START SLAVE");
    expect(site("POST", "/db", "delayed").status).toBe(200);
    await waitUntil(async () => Number((await sql(replica().name, "SHOW SLAVE STATUS"))[0]?.length) > 0 && (await lagOf(replica().name)) > 8, 30_000, "the replica to fall behind");
    expect(await refusedWith()).toMatch(/promotion refused: lab3 is \d+ s behind the primary \(at most 5 s\)/);
    await sql(replica().name, "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 0; START SLAVE");
    await waitUntil(async () => (await lagOf(replica().name)) === 0, 30_000, "the replica to catch up");
  });

  it("promotes the replica while a load loop writes through the app: writes resume on it within seconds, no acknowledged row is lost, the old primary is fenced and rejoins as a replica", async () => {
    const lab3 = await db.server.findFirstOrThrow({ where: { name: replica().name } });
    const ca = readFileSync(caFile);
    const acked: Array<{ id: number; at: number }> = [];
    let failures = 0;
    let stop = false;
    const post = (n: number) =>
      new Promise<number | null>((resolve) => {
        const req = https.request(
          { host: front().address, port: 443, servername: SITE, path: "/db", method: "POST", headers: { host: SITE, "content-type": "text/plain" }, ca, agent: false, timeout: 5000 },
          (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => {
              try {
                resolve(res.statusCode === 200 ? Number((JSON.parse(body) as { id: number }).id) : null);
              } catch {
                resolve(null);
              }
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => resolve(null));
        req.end(`load-${n}`);
      });
    const loop = (async () => {
      for (let n = 0; !stop; n++) {
        const id = await post(n);
        if (id) acked.push({ id, at: Date.now() });
        else failures++;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    const before = acked.length;
    expect(before).toBeGreaterThan(10);

    const run = await startPromotion({ db, queue }, caller, { topologyId, candidateId: lab3.id, force: false });
    const preview = await finished(run.id);
    expect(preview.status).toBe("awaiting-confirmation");
    expect(preview.outcome).toMatch(/will fence lab2 \(read-only, the app's accounts locked\), let lab3 apply everything .*make it the primary.*switch the app servers to it/);
    await confirmRun({ db, queue, redis: null }, { name: "operator@example.test" }, run.id);
    const done = await finished(run.id);
    const events = await eventsText(run.id);
    writeFileSync(path.join(dir, `run-${run.id}.log`), events);
    expect(done.status, `${done.outcome} (events: ${path.join(dir, `run-${run.id}.log`)})`).toBe("succeeded");
    const phases = await db.runPhase.findMany({ where: { runId: run.id }, orderBy: { position: "asc" } });
    expect(phases.map((p) => `${p.name}:${p.status}`)).toEqual([
      "preview:done",
      "fence old primary:done",
      "catch up:done",
      "change roles:done",
      "promote:done",
      "repoint replicas:done",
      "switch app:done",
      "converge:done",
    ]);
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await loop;

    // Writes resumed on the new primary: the longest pause between two acknowledged writes.
    let pause = 0;
    for (let i = 1; i < acked.length; i++) pause = Math.max(pause, acked[i]!.at - acked[i - 1]!.at);
    console.log(`promotion: ${acked.length} writes acknowledged (${failures} refused during the switch); the longest pause between two acknowledged writes ${pause} ms`);
    expect(acked.length).toBeGreaterThan(before);
    expect(pause).toBeLessThan(10_000);
    expect(site("POST", "/db", "after").json.server).toBe(replica().address);
    // No acknowledged row lost: every id the app acknowledged is on the new primary.
    const ids = new Set((await sql(replica().name, "SELECT id FROM app.sample_rows")).map((r) => Number(r[0])));
    expect(acked.filter((a) => !ids.has(a.id))).toEqual([]);

    // The old primary: read-only, and a replica of the new one (loaded from it by the converge phase).
    expect(await sql(primary().name, "SELECT @@read_only")).toEqual([["1"]]);
    const status = await labSsh(primary().name, ["mariadb", "-B", "-e", "SHOW SLAVE STATUS"]);
    const [head, row] = status.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    expect(Object.fromEntries(head!.map((k, i) => [k, row![i]]))).toMatchObject({ Master_Host: replica().address, Slave_IO_Running: "Yes", Slave_SQL_Running: "Yes" });
    const members = await db.topologyMember.findMany({ where: { topologyId }, include: { server: true } });
    expect(Object.fromEntries(members.map((m) => [m.server.name, JSON.parse(m.roles) as string[]]))).toMatchObject({ lab2: ["db-replica"], lab3: ["db-primary"] });

    // A second promotion right away is refused by the cool-down.
    const lab2 = members.find((m) => m.server.name === primary().name)!;
    const again = await finished((await startPromotion({ db, queue }, caller, { topologyId, candidateId: lab2.serverId, force: false })).id);
    expect(again.status).toBe("failed");
    expect(again.outcome).toMatch(/cool-down: the last promotion of this topology ended at .* another is refused for \d+ s more/);
  });

  it("a worker SIGKILLed in each phase of a promotion: the run stops with its journal and says what to do, never two writable primaries, and an apply converges one", async () => {
    const workerEnv = (extra: Record<string, string> = {}) => ({ DATA_DIR: dir, DATABASE_URL: dbUrl, REDIS_URL: redis.url, DRIFT_CHECK_INTERVAL_S: "0", PROMOTION_COOLDOWN_S: "0", ...extra });
    const restart = async (extra?: Record<string, string>) => {
      worker.child.kill("SIGTERM");
      await worker.exited;
      worker = startWorker(workerEnv(extra));
    };
    const writable = async () => {
      const out: string[] = [];
      for (const h of [primary(), replica()]) if ((await sql(h.name, "SELECT @@read_only"))[0]?.[0] === "0") out.push(h.name);
      return out;
    };
    const phases = ["fence old primary", "catch up", "change roles", "promote", "repoint replicas", "switch app", "converge"];
    for (const phase of phases) {
      const members = await db.topologyMember.findMany({ where: { topologyId }, include: { server: true } });
      const candidate = members.find((m) => (JSON.parse(m.roles) as string[]).includes("db-replica"))!;
      await restart({ RAMPART_TEST_OPERATION_PAUSE: `${phase}:120000` });
      const run = await startPromotion({ db, queue }, caller, { topologyId, candidateId: candidate.serverId, force: false });
      expect((await finished(run.id)).status, `preview before '${phase}'`).toBe("awaiting-confirmation");
      await confirmRun({ db, queue, redis: null }, { name: "operator@example.test" }, run.id);
      await waitUntil(async () => (await eventsText(run.id)).includes(`pausing 120000 ms at the end of phase '${phase}'`), 180_000, `phase '${phase}' to be done and paused`);
      worker.child.kill("SIGKILL");
      await worker.exited;
      // At most one server takes writes, whatever the phase.
      expect((await writable()).length, `writable servers after a kill in '${phase}'`).toBeLessThanOrEqual(1);
      worker = startWorker(workerEnv());
      const ended = await finished(run.id);
      expect(ended.status).toBe("failed");
      expect(ended.outcome).toContain(phase);
      expect(ended.outcome).toMatch(/apply the topology/);
      const journal = await db.runPhase.findMany({ where: { runId: run.id }, orderBy: { position: "asc" } });
      // The journal: the phases before it done, it marked failed (cut short), none after it.
      expect(journal.map((p) => p.name)).toEqual(["preview", ...phases.slice(0, phases.indexOf(phase) + 1)]);
      expect(journal.at(-1)?.status).toBe("failed");
      expect((await writable()).length).toBeLessThanOrEqual(1);
      // What the run says to do: apply. One writable primary, its replica replicating (the apply's checks prove it).
      await applied();
      const primaries = (await db.topologyMember.findMany({ where: { topologyId }, include: { server: true } })).filter((m) => (JSON.parse(m.roles) as string[]).includes("db-primary"));
      expect(await writable()).toEqual(primaries.map((m) => m.server.name));
      console.log(`killed in '${phase}': the run said "${ended.outcome?.slice(0, 120)}…"; after the apply ${primaries[0]!.server.name} is the one writable primary`);
    }
  }, 900_000);
  it("a primary that cannot be reached: the preview refuses unless forced, saying what may be lost; forced, the replica takes over and the old primary rejoins once it runs again", async () => {
    const members = await db.topologyMember.findMany({ where: { topologyId }, include: { server: true } });
    const roleOf = (m: (typeof members)[number]) => JSON.parse(m.roles) as string[];
    const old = members.find((m) => roleOf(m).includes("db-primary"))!;
    const candidate = members.find((m) => roleOf(m).includes("db-replica"))!;
    await labSsh(old.server.name, ["systemctl", "stop", "mariadb"]);
    const refused = await finished((await startPromotion({ db, queue }, caller, { topologyId, candidateId: candidate.serverId, force: false })).id);
    expect(refused.status).toBe("failed");
    expect(refused.outcome).toMatch(new RegExp(`promotion refused: the primary ${old.server.name} cannot be reached .*Start a forced promotion to go ahead anyway`));
    const run = await startPromotion({ db, queue }, caller, { topologyId, candidateId: candidate.serverId, force: true });
    const preview = await finished(run.id);
    expect(preview.status).toBe("awaiting-confirmation");
    expect(preview.outcome).toMatch(new RegExp(`FORCED: will make ${candidate.server.name} the primary without fencing ${old.server.name}`));
    await confirmRun({ db, queue, redis: null }, { name: "operator@example.test" }, run.id);
    const done = await finished(run.id);
    expect(done.status, `${done.outcome}\n${(await eventsText(run.id)).slice(-4000)}`).toBe("succeeded");
    expect(done.outcome).toMatch(/forced: .* was not fenced/);
    // The old primary was started again by the converge phase, as a read-only replica of the new one.
    expect(await sql(old.server.name, "SELECT @@read_only")).toEqual([["1"]]);
    expect(await sql(candidate.server.name, "SELECT @@read_only")).toEqual([["0"]]);
    expect(site("POST", "/db", "after the forced promotion").json.server).toBe(candidate.server.address);
  }, 300_000);
});
