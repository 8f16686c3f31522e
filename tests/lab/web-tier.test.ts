// The web tier with end-to-end TLS on the lab (issue 7), checked with independent
// tools (curl, openssl s_client, HAProxy's own runtime API) and a load loop:
// one load balancer and two web+app servers; a site certificate uploaded by the
// operator (bad uploads refused, nothing deployed); HTTPS through HAProxy,
// re-encrypted to nginx with certificates from Rampart's CA, the app on loopback;
// a backend with a foreign certificate is marked down; a config change under
// load and a stopped nginx lose no request beyond the health-check window.
import { execFileSync, spawnSync } from "node:child_process";
import https from "node:https";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { ensureLab, labSsh, type LabInfo } from "@/e2e/lab/fixture";
import type { Db } from "@/server/db";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology, getTopology, planTopologyRun, setApp, setDrained, updateTopology, uploadArtifact } from "@/server/services/topologies";
import { caCertificate, listCertificates, uploadSiteCertificate } from "@/server/services/certificates";
import { createCa, issueServerCert } from "@/server/pki/x509";
import { TopologyInput } from "@/server/schemas/topology";
import { NGINX_SITE, SERVER_CERT, SERVER_KEY } from "@/server/provision/roles";
import { renderAction } from "@/server/provision/resources";
import { SshExecutor } from "@/server/exec/ssh-executor";
import { Secret } from "@/server/secrets/secret";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";
import { makeChain, type TestChain } from "../support/cert-fixtures";

const SITE = "www.foobar.test";
let lab: LabInfo;
let db: Db;
let dir: string;
let redis: TestRedis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let box: SecretBox;
let chain: TestChain;
let topologyId: string;
let internalCaFile: string;
const ids: string[] = [];
const caller = { name: "tester@example.test" };
const lb = () => lab.hosts[0]!;

async function apply() {
  const run = await applyTopologyRun({ db, queue }, caller, topologyId);
  return finished(run.id);
}
async function finished(runId: string) {
  const r = await waitUntil(
    async () => {
      const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
      return r.status !== "queued" && r.status !== "running" ? r : null;
    },
    300_000,
    `run ${runId}`,
  );
  if (r.status !== "succeeded") {
    const events = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
    throw new Error(
      `run ${r.status}: ${r.outcome}\n${events
        .map((e) => `${e.host ?? "-"}: ${e.text}`)
        .join("\n")
        .slice(-6000)}`,
    );
  }
  return r;
}

/** One HTTPS request through the load balancer, on a new connection, trusting only `ca`. */
function get(ca: string, pathname = "/"): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: lb().address, port: 443, servername: SITE, path: pathname, ca, agent: false, headers: { host: SITE, connection: "close" }, timeout: 5000 }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

interface LoadResult {
  ok: number;
  failures: Array<{ at: number; error: string }>;
  byApp: Map<string, number>;
}

/** Requests in a loop (4 at a time) until `stop()` says so and at least `min` were made. */
async function loadLoop(ca: string, min: number, stop: () => boolean): Promise<LoadResult> {
  const r: LoadResult = { ok: 0, failures: [], byApp: new Map() };
  const lane = async () => {
    while (r.ok + r.failures.length < min || !stop()) {
      try {
        const res = await get(ca);
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        const app = /app on (\S+),/.exec(res.body)?.[1] ?? "?";
        r.byApp.set(app, (r.byApp.get(app) ?? 0) + 1);
        r.ok++;
      } catch (err) {
        r.failures.push({ at: Date.now(), error: (err as Error).message });
      }
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  return r;
}

async function backendStatus(server: string): Promise<string> {
  const out = (await labSsh(lb().name, ["sh", "-c", 'echo "show stat" | socat stdio UNIX-CONNECT:/run/haproxy/admin.sock'])).stdout;
  const header = out.split("\n")[0]!.slice(2).split(",");
  const row = out.split("\n").find((l) => l.startsWith(`web,${server},`));
  if (!row) return "missing";
  const f = row.split(",");
  return f[header.indexOf("status")] === "UP" && f[header.indexOf("weight")] === "0" ? "DRAIN" : f[header.indexOf("status")]!;
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
  ids.push(...(await registerFreshLabHosts(db, box, lab, lab.hosts)));
  topologyId = (
    await createTopology(
      db,
      TopologyInput.parse({
        name: SITE,
        members: [
          { serverId: ids[0], roles: ["load-balancer"] },
          { serverId: ids[1], roles: ["web", "app"] },
          { serverId: ids[2], roles: ["web", "app"] },
        ],
      }),
    )
  ).id;
  // These tests reach the web and app servers directly from the test's namespace (what each
  // presents over TLS, to whom): with its firewall on, only the tier in front may. The
  // firewall's own tests are in firewall.test.ts.
  await db.topology.update({ where: { id: topologyId }, data: { firewallEnabled: false } });
  chain = makeChain(SITE);
  internalCaFile = path.join(dir, "internal-ca.pem");
  writeFileSync(internalCaFile, (await caCertificate(db, box)).certPem);
}, 600_000);

afterAll(async () => {
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await queue?.close();
  await db?.$disconnect();
  await redis?.stop();
});

describe("the web tier with end-to-end TLS", () => {
  it("refuses bad site certificates with a clear reason, and stores nothing", async () => {
    const upload = (certificatePem: string, privateKeyPem: string) => uploadSiteCertificate(db, box, caller, { topologyId, certificatePem, privateKeyPem });
    const ca = await createCa("Some other CA");
    const expired = await issueServerCert(ca, [SITE], new Date("2024-01-01T00:00:00Z"), 1);
    await expect(upload(chain.leaf + chain.int, chain.otherKey)).rejects.toMatchObject({ code: "BAD_REQUEST", field: "privateKeyPem", message: expect.stringContaining("does not match") });
    await expect(upload(expired.certPem, expired.keyPem)).rejects.toMatchObject({ field: "certificatePem", message: expect.stringMatching(/expired on 2024-01-0\d/) });
    await expect(upload(chain.other + chain.int, chain.otherKey)).rejects.toMatchObject({ field: "certificatePem", message: expect.stringContaining(`is for www.other.test, not ${SITE}`) });
    await expect(upload(chain.leaf + chain.root + chain.int, chain.leafKey)).rejects.toMatchObject({ field: "certificatePem", message: expect.stringContaining("the chain is out of order") });
    expect(await db.certificate.count({ where: { purpose: "site" } })).toBe(0);
    // Nothing was deployed either: no host has a site certificate.
    expect((await labSsh(lb().name, ["test", "-e", "/etc/haproxy/site.pem"], { check: false })).code).toBe(1);
  });

  it("applies with an uploaded certificate: HTTPS through HAProxy alternates between the app servers", async () => {
    const cert = await uploadSiteCertificate(db, box, caller, { topologyId, certificatePem: chain.leaf + chain.int, privateKeyPem: chain.leafKey });
    expect(cert).toMatchObject({ source: "uploaded", names: [SITE] });
    expect(JSON.stringify(cert)).not.toContain("PRIVATE KEY");
    await apply();
    const rootFile = path.join(chain.dir, "root.pem");
    const curl = () => execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", rootFile, "--resolve", `${SITE}:443:${lb().address}`, `https://${SITE}/`], { encoding: "utf8" });
    await waitUntil(
      async () => {
        try {
          return curl().includes("app on");
        } catch {
          return false;
        }
      },
      20_000,
      "the site to answer over HTTPS",
    );
    const bodies = Array.from({ length: 6 }, curl);
    const apps = bodies.map((b) => /app on (\S+), through web server (\S+)/.exec(b)?.slice(1).join("/"));
    expect(new Set(apps)).toEqual(new Set(["lab2/lab2", "lab3/lab3"])); // each web server uses its own app, on loopback
    for (let i = 1; i < apps.length; i++) expect(apps[i]).not.toBe(apps[i - 1]);
    // HSTS, and plain HTTP redirected to HTTPS (ACME challenges excepted).
    const head = execFileSync("curl", ["-sS", "-D", "-", "-o", "/dev/null", "--cacert", rootFile, "--resolve", `${SITE}:443:${lb().address}`, `https://${SITE}/`], { encoding: "utf8" });
    expect(head).toMatch(/strict-transport-security: max-age=63072000/i);
    const plain = execFileSync("curl", ["-sS", "-D", "-", "-o", "/dev/null", `http://${lb().address}/x`, "-H", `host: ${SITE}`], { encoding: "utf8" });
    expect(plain).toMatch(/^HTTP\/1\.1 301/);
    expect(plain).toMatch(new RegExp(`location: https://${SITE.replace(/\./g, "\\.")}/x`, "i"));
    const acme = execFileSync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://${lb().address}/.well-known/acme-challenge/abc`], { encoding: "utf8" });
    expect(acme).toBe("503"); // routed to the (still empty) ACME backend, not redirected
    // Old protocols are refused.
    const tls11 = spawnSync("openssl", ["s_client", "-connect", `${lb().address}:443`, "-servername", SITE, "-tls1_1"], { input: "", encoding: "utf8" });
    expect(tls11.status).not.toBe(0);
    // The proof of what is served, recorded by the apply's checks (the Certificates page shows it): the
    // load balancer serves the uploaded certificate, the same fingerprint openssl sees from here.
    const site = (await listCertificates(db)).served.find((s) => s.purpose === "site" && s.serverName === lb().name);
    expect(site).toMatchObject({ port: 443, matches: true, fingerprint: cert.fingerprint });
    const seen = spawnSync("sh", ["-c", `openssl s_client -connect ${lb().address}:443 -servername ${SITE} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`], { encoding: "utf8" });
    expect(seen.stdout.trim()).toMatch(new RegExp(`fingerprint=${cert.fingerprint}$`, "i"));
  });

  it("each web server presents a certificate from Rampart's CA on :443, serves nothing over plain HTTP, and nothing to a client without a certificate from that CA", async () => {
    for (const h of lab.hosts.slice(1)) {
      const out = spawnSync("openssl", ["s_client", "-connect", `${h.address}:443`, "-servername", h.name, "-CAfile", internalCaFile, "-verify_hostname", h.name, "-showcerts"], {
        input: "",
        encoding: "utf8",
      });
      expect(out.stdout).toContain("Verify return code: 0 (ok)");
      expect(out.stdout).toMatch(/issuer=CN ?= ?Rampart internal CA/);
      // Nothing listens on :80, and plain HTTP to :443 gets no content.
      const http80 = spawnSync("curl", ["-sS", "--max-time", "3", `http://${h.address}/`], { encoding: "utf8" });
      expect(http80.status).not.toBe(0);
      const plainOn443 = spawnSync("curl", ["-sS", "--max-time", "3", `http://${h.address}:443/`], { encoding: "utf8" });
      expect(plainOn443.stdout).not.toContain("app on");
      expect(plainOn443.stdout).toMatch(/400|plain HTTP request was sent to HTTPS port/);
      // Only the tier in front may connect: without a certificate from Rampart's CA, nothing is served.
      const noClientCert = spawnSync("curl", ["-sS", "--max-time", "3", "--cacert", internalCaFile, "--resolve", `${h.name}:443:${h.address}`, `https://${h.name}/`], { encoding: "utf8" });
      expect(noClientCert.stdout).not.toContain("app on");
      expect(noClientCert.stdout).toMatch(/No required SSL certificate was sent/);
    }
  });

  it("HAProxy marks down a backend whose certificate is not from Rampart's CA; apply puts it right", async () => {
    const foreign = await issueServerCert(await createCa("Impostor CA"), ["lab3", lab.hosts[2]!.address]);
    await labSsh("lab3", ["sh", "-c", 'cat > "$1"', "x", SERVER_CERT], { input: foreign.certPem });
    await labSsh("lab3", ["sh", "-c", 'cat > "$1"', "x", SERVER_KEY], { input: foreign.keyPem });
    await labSsh("lab3", ["systemctl", "reload", "nginx"]);
    await waitUntil(async () => (await backendStatus("lab3")).startsWith("DOWN"), 20_000, "HAProxy to mark lab3 down");
    expect(await backendStatus("lab2")).toBe("UP");
    // A plan (as the drift check) records that lab3 serves another certificate than the one deployed.
    const plan = await planTopologyRun({ db, queue }, caller, topologyId);
    await waitUntil(async () => !["queued", "running"].includes((await db.run.findUniqueOrThrow({ where: { id: plan.id } })).status), 120_000, "the plan");
    const servedBy = async (name: string) => (await listCertificates(db)).served.find((s) => s.purpose === "backend" && s.serverName === name);
    expect(await servedBy("lab3")).toMatchObject({ port: 443, matches: false, fingerprint: foreign.fingerprint });
    expect(await servedBy("lab2")).toMatchObject({ port: 443, matches: true });
    // The console's view (the worker reads HAProxy's runtime API every few seconds).
    await waitUntil(
      async () => (await getTopology(db, topologyId)).lbHealth?.loadBalancers[0]?.backends.find((b) => b.server === "lab3")?.status.startsWith("DOWN"),
      20_000,
      "the console to show lab3 down",
    );
    await apply(); // the certificate is drift: restored
    await waitUntil(async () => (await backendStatus("lab3")) === "UP", 20_000, "lab3 to come back");
    expect(await servedBy("lab3")).toMatchObject({ matches: true });
  });

  it("a config change applied under load loses no request (≥ 2,000 requests)", async () => {
    const ca = chain.root;
    let applying = true;
    const loop = loadLoop(ca, 2000, () => !applying);
    // Change HAProxy's balancing and rotate both web servers' certificates: HAProxy and nginx reload.
    const t = await getTopology(db, topologyId);
    await updateTopology(db, {
      id: topologyId,
      name: t.name,
      balance: "leastconn",
      rolloutBatchSize: 5,
      failureBudget: 0,
      members: t.members.map((m) => ({ serverId: m.serverId, roles: m.roles, monitoring: m.monitoring })),
    });
    await db.certificate.updateMany({ where: { purpose: "backend", replacedAt: null }, data: { replacedAt: new Date() } });
    const run = await apply();
    applying = false;
    const r = await loop;
    console.log(`load loop during apply (${run.outcome}): ${r.ok} ok, ${r.failures.length} failed, by app ${JSON.stringify([...r.byApp])}`);
    expect(run.outcome).toMatch(/^applied/);
    expect(r.ok + r.failures.length).toBeGreaterThanOrEqual(2000);
    expect(r.failures).toEqual([]);
    expect((await labSsh(lb().name, ["grep", "-c", "balance leastconn", "/etc/haproxy/haproxy.cfg"])).stdout.trim()).toBe("1");
  });

  it("nginx stopped on one web server: HAProxy marks it down within its check window, the load loop sees no failure after it, and the console shows it", async () => {
    let stopAt = 0;
    let downAt = 0;
    let done = false;
    const loop = loadLoop(chain.root, 1500, () => done);
    await new Promise((r) => setTimeout(r, 1000));
    stopAt = Date.now();
    await labSsh("lab3", ["systemctl", "stop", "nginx"]);
    await waitUntil(async () => (await backendStatus("lab3")).startsWith("DOWN"), 15_000, "HAProxy to mark lab3 down");
    downAt = Date.now();
    await waitUntil(
      async () => (await getTopology(db, topologyId)).lbHealth?.loadBalancers[0]?.backends.find((b) => b.server === "lab3")?.status.startsWith("DOWN"),
      15_000,
      "the console to show lab3 down",
    );
    await new Promise((r) => setTimeout(r, 2000));
    done = true;
    const r = await loop;
    console.log(`nginx stopped on lab3: marked down after ${downAt - stopAt} ms; ${r.ok} ok, ${r.failures.length} failed (${r.failures.map((f) => `${f.at - stopAt} ms: ${f.error}`).join("; ")})`);
    // inter 2 s × fall 2, plus one interval of slack.
    expect(downAt - stopAt).toBeLessThan(7000);
    expect(r.failures.filter((f) => f.at > downAt)).toEqual([]);
    await labSsh("lab3", ["systemctl", "start", "nginx"]);
    await waitUntil(async () => (await backendStatus("lab3")) === "UP", 20_000, "lab3 to come back");
  });

  it("a configuration that fails its check is rolled back: the step fails and the old file stays", async () => {
    const key = new Secret(readFileSync(lab.sshKey, "utf8"));
    const h = lab.hosts[1]!;
    const target = { name: h.name, address: h.address, port: h.port, user: "root", privateKey: key, hostKey: h.hostKey };
    const executor = new SshExecutor();
    try {
      const before = (await labSsh(h.name, ["cat", NGINX_SITE])).stdout;
      const step = renderAction({
        op: "write",
        path: NGINX_SITE,
        content: "server { this is not nginx\n",
        mode: 0o644,
        owner: "root",
        group: "root",
        secret: false,
        notify: [],
        check: ["nginx", "-t", "-q"],
      });
      for (const cmd of step.before) await executor.run(target, cmd);
      await executor.upload(target, step.upload!);
      await expect(executor.run(target, step.after[0]!)).rejects.toMatchObject({ kind: "command-failed", message: expect.stringContaining("the check failed") });
      expect((await labSsh(h.name, ["cat", NGINX_SITE])).stdout).toBe(before);
      expect((await labSsh(h.name, ["nginx", "-t", "-q"], { check: false })).code).toBe(0);
      expect((await get(chain.root)).status).toBe(200);
    } finally {
      await executor.close();
    }
  });

  it("draining a web server sends it no new requests; undraining brings it back", async () => {
    await finished((await setDrained({ db, queue }, caller, { id: topologyId, serverId: ids[2]!, drained: true })).id);
    await waitUntil(async () => (await backendStatus("lab3")) === "DRAIN", 10_000, "lab3 to be drained");
    await waitUntil(
      async () => (await getTopology(db, topologyId)).lbHealth?.loadBalancers[0]?.backends.find((b) => b.server === "lab3")?.status === "DRAIN",
      15_000,
      "the console to show lab3 drained",
    );
    const r = await loadLoop(chain.root, 40, () => true);
    expect([...r.byApp.keys()]).toEqual(["lab2"]);
    await finished((await setDrained({ db, queue }, caller, { id: topologyId, serverId: ids[2]!, drained: false })).id);
    await waitUntil(async () => (await backendStatus("lab3")) === "UP", 10_000, "lab3 to be back");
  });

  it("deploys the operator's app from an uploaded archive, with secret environment values kept out of runs", async () => {
    const src = mkdtempSync(path.join(os.tmpdir(), "rampart-app-"));
    writeFileSync(
      path.join(src, "app.py"),
      [
        "import http.server, os",
        "from lib.sandbox import probe",
        "class H(http.server.BaseHTTPRequestHandler):",
        "    def do_GET(self):",
        "        body = ('ok\\n' if self.path == '/up' else 'tarball app on %s (%s, token %s)%s\\n' % (os.environ['RAMPART_SERVER'], os.environ['GREETING'], 'set' if os.environ.get('API_TOKEN') == 'tok-123456' else 'missing', probe() if self.path == '/sandbox' else '')).encode()",
        "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)",
        "http.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), H).serve_forever()",
        "",
      ].join("\n"),
    );
    // A package and a symbolic link inside the tree: allowed, and unpacked as they were.
    mkdirSync(path.join(src, "lib"));
    writeFileSync(path.join(src, "lib", "__init__.py"), "");
    writeFileSync(
      path.join(src, "lib", "sandbox.py"),
      [
        "import os",
        "def attempt(f):",
        "    try:",
        "        f()",
        "        return 'yes'",
        "    except OSError:",
        "        return 'no'",
        "def probe():",
        "    state = os.environ.get('STATE_DIRECTORY', '')",
        "    def write_state():",
        "        open(os.path.join(state, 'probe'), 'w').write('x')",
        "    def write_etc():",
        "        open('/etc/rampart-app-probe', 'w').write('x')",
        "    def write_app():",
        "        open('probe', 'w').write('x')",
        "    return ' [state %s, etc %s, app dir %s, disk %s]' % (attempt(write_state), attempt(write_etc), attempt(write_app), 'seen' if any(d.startswith(('sd', 'vd', 'nvme')) for d in os.listdir('/dev')) else 'hidden')",
        "",
      ].join("\n"),
    );
    symlinkSync("app.py", path.join(src, "main.py"));
    const tarball = path.join(src, "app.tar.gz");
    execFileSync("tar", ["-czf", tarball, "-C", src, "app.py", "main.py", "lib"]);
    // The crafted archives are refused with the reason (the one GNU tar would have unpacked a device node from, for one).
    await expect(
      uploadArtifact(db, dir, { id: topologyId, filename: "evil.tar.gz", contentBase64: readFileSync("tests/fixtures/archives/base256-size.tar.gz").toString("base64") }),
    ).rejects.toMatchObject({ message: expect.stringContaining("dev-sda: a character device is not allowed") });
    const art = await uploadArtifact(db, dir, { id: topologyId, filename: "app.tar.gz", contentBase64: readFileSync(tarball).toString("base64") });
    await expect(uploadArtifact(db, dir, { id: topologyId, filename: "x.tar.gz", contentBase64: Buffer.from("plain text").toString("base64") })).rejects.toMatchObject({
      message: expect.stringContaining("not a gzip-compressed archive"),
    });
    await setApp(db, box, {
      id: topologyId,
      app: {
        source: "tarball",
        artifact: art.sha256,
        path: null,
        startCommand: "/usr/bin/python3 main.py",
        port: 8100,
        healthPath: "/up",
        env: [
          { name: "GREETING", value: "hello", secret: false },
          { name: "API_TOKEN", value: "tok-123456", secret: true },
        ],
      },
    });
    expect(JSON.stringify(await getTopology(db, topologyId))).not.toContain("tok-123456");
    const run = await apply();
    await waitUntil(async () => (await get(chain.root)).body.startsWith("tarball app"), 20_000, "the new app to answer");
    const bodies = await Promise.all(Array.from({ length: 4 }, () => get(chain.root)));
    expect(new Set(bodies.map((b) => b.body.trim()))).toEqual(new Set(["tarball app on lab2 (hello, token set)", "tarball app on lab3 (hello, token set)"]));
    // The secret is on the hosts only in a root-only file, and in no run event or plan.
    expect((await labSsh("lab2", ["stat", "-c", "%a %U", "/etc/rampart/app.env"])).stdout.trim()).toBe("600 root");
    expect((await labSsh("lab2", ["systemctl", "show", "-p", "User", "--value", "rampart-app"])).stdout.trim()).toBe("rampart-app");
    // The symbolic link was unpacked as a link, and the app runs sandboxed: it writes only in its state directory, sees no disks.
    expect((await labSsh("lab2", ["readlink", `/opt/rampart-app/releases/${art.sha256}/main.py`])).stdout.trim()).toBe("app.py");
    expect((await get(chain.root, "/sandbox")).body).toMatch(/\[state yes, etc no, app dir no, disk hidden\]/);
    const sandbox = (await labSsh("lab2", ["systemctl", "show", "-p", "ProtectSystem,PrivateDevices,RestrictSUIDSGID,NoNewPrivileges,CapabilityBoundingSet,StateDirectory", "rampart-app"])).stdout;
    expect(sandbox).toContain("ProtectSystem=strict");
    expect(sandbox).toContain("PrivateDevices=yes");
    expect(sandbox).toContain("RestrictSUIDSGID=yes");
    expect(sandbox).toContain("NoNewPrivileges=yes");
    expect(sandbox).toMatch(/^CapabilityBoundingSet=$/m);
    const events = await db.runEvent.findMany({ where: { runId: run.id } });
    expect(JSON.stringify(events) + (run.result ?? "")).not.toContain("tok-123456");
  });

  it("a web server reaches an app server on another host over mutual TLS (the app server's TLS front)", async () => {
    const t = await getTopology(db, topologyId);
    const roles: Record<string, Array<"load-balancer" | "web" | "app">> = { lab1: ["load-balancer"], lab2: ["web"], lab3: ["app"] };
    await updateTopology(db, {
      id: topologyId,
      name: t.name,
      balance: "roundrobin",
      rolloutBatchSize: 5,
      failureBudget: 0,
      members: t.members.map((m) => ({ serverId: m.serverId, roles: roles[m.serverName]!, monitoring: m.monitoring })),
    });
    await apply();
    // Every request: LB → lab2 (web only) → lab3's app, over TLS verified both ways.
    await waitUntil(async () => (await get(chain.root)).body.trim() === "tarball app on lab3 (hello, token set)", 20_000, "the path LB → lab2 → lab3");
    const bodies = await Promise.all(Array.from({ length: 4 }, () => get(chain.root)));
    expect(new Set(bodies.map((b) => b.body.trim()))).toEqual(new Set(["tarball app on lab3 (hello, token set)"]));
    // The app front refuses a client without a certificate from Rampart's CA.
    const direct = spawnSync("curl", ["-sS", "--max-time", "3", "--cacert", internalCaFile, "--resolve", `rampart-app:9443:${lab.hosts[2]!.address}`, "https://rampart-app:9443/"], {
      encoding: "utf8",
    });
    expect(direct.stdout).toMatch(/No required SSL certificate was sent/);
    // And the app itself listens on loopback only.
    expect((await labSsh("lab3", ["sh", "-c", "ss -ltnH 'sport = :8100' | awk '{print $4}'"])).stdout.trim()).toBe("127.0.0.1:8100");
  });
});
