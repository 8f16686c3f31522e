// Certificates from an ACME CA on the lab (issue 14), with Debian's Pebble as the
// CA on the lab bridge (it validates HTTP-01 by connecting to the load balancer):
// an account, an order answered by HAProxy statelessly, the certificate verified
// with curl against Pebble's root and recorded as served; short-lived certificates
// renewed by the scheduler under a load loop with no failed request; Pebble stopped
// (renewals fail, are retried with backoff, the old certificate keeps serving, an
// alert appears) and back (the next retry succeeds); an apply after a topology
// change keeps the ACME certificate; revoke and replace. No public CA is contacted.
import { execFileSync } from "node:child_process";
import https from "node:https";
import { X509Certificate } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Queue } from "bullmq";
import { ensureLab, type LabInfo } from "@/e2e/lab/fixture";
import type { Db } from "@/server/db";
import { RUNS_QUEUE, type RunJobData } from "@/server/queue/names";
import { redisOptions } from "@/server/queue/redis";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { applyTopologyRun, createTopology, getTopology, updateTopology } from "@/server/services/topologies";
import { listCertificates } from "@/server/services/certificates";
import { createAcmeAccount, setSiteAcme, startCertificateOrder } from "@/server/services/acme";
import { TopologyInput } from "@/server/schemas/topology";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";
import { registerFreshLabHosts } from "../support/lab-hosts";
import { startPebble, type Pebble } from "../support/pebble";

const SITE = "shop.acme.test";
/** Pebble's certificates live this long: the scheduler renews them with a third left (50 s). */
const VALIDITY_S = 150;
let lab: LabInfo;
let db: Db;
let dir: string;
let redis: TestRedis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let box: SecretBox;
let pebble: Pebble;
let topologyId: string;
let accountId: string;
const caller = { name: "tester@example.test" };
const lb = () => lab.hosts[0]!;

async function finished(runId: string, timeoutMs = 300_000) {
  return waitUntil(
    async () => {
      const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
      return r.status !== "queued" && r.status !== "running" ? r : null;
    },
    timeoutMs,
    `run ${runId}`,
  );
}
async function log(runId: string) {
  const events = await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } });
  return events
    .map((e) => `${e.host ?? "-"}: ${e.text}`)
    .join("\n")
    .slice(-6000);
}
async function succeeded(runId: string) {
  const r = await finished(runId);
  if (r.status !== "succeeded") throw new Error(`run ${r.status}: ${r.outcome}\n${await log(runId)}\n--- pebble:\n${pebble.output().slice(-3000)}`);
  return r;
}

/** One HTTPS request through the load balancer on a new connection, trusting only `ca`; resolves to the served certificate's fingerprint. */
function get(ca: string): Promise<{ status: number; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: lb().address, port: 443, servername: SITE, path: "/", ca, agent: false, headers: { host: SITE, connection: "close" }, timeout: 5000 }, (res) => {
      const fingerprint = (res.socket as import("node:tls").TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, fingerprint }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}

const current = async () => (await listCertificates(db)).certificates.find((c) => c.purpose === "site" && c.topologyId === topologyId)!;
const servedOnLb = async () => (await listCertificates(db)).served.find((s) => s.purpose === "site" && s.serverName === lb().name);
const site = async () => (await listCertificates(db)).acme.find((a) => a.topologyId === topologyId)!;

beforeAll(async () => {
  const info = await ensureLab(3);
  lab = { ...info, hosts: info.hosts.slice(0, 2) };
  pebble = await startPebble(info.bridgeAddress, { validityS: VALIDITY_S });
  await pebble.addA(SITE, lb().address);
  await pebble.addA(`www.${SITE}`, lb().address);
  redis = await startRedis();
  let url: string;
  ({ db, dir, url } = await createTestDb());
  box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  worker = startWorker({
    DATA_DIR: dir,
    DATABASE_URL: url,
    REDIS_URL: redis.url,
    DRIFT_CHECK_INTERVAL_S: "0",
    RENEWAL_CHECK_INTERVAL_S: "10",
    ACME_RETRY_BASE_S: "5",
    ACME_RETRY_MAX_S: "20",
  });
  const ids = await registerFreshLabHosts(db, box, lab, lab.hosts);
  topologyId = (
    await createTopology(
      db,
      TopologyInput.parse({
        name: SITE,
        members: [
          { serverId: ids[0], roles: ["load-balancer"] },
          { serverId: ids[1], roles: ["web", "app"] },
        ],
      }),
    )
  ).id;
}, 600_000);

afterAll(async () => {
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await queue?.close();
  await db?.$disconnect();
  await redis?.stop();
  await pebble?.close();
});

describe("certificates from an ACME CA (Pebble on the lab)", () => {
  it("creates an account: untrusted HTTPS, unaccepted terms and a bad URL are refused with the field; the key is never returned", async () => {
    const base = { name: "pebble", directoryUrl: pebble.directoryUrl, contact: ["ops@example.test"], acceptTerms: true as const };
    await expect(createAcmeAccount(db, box, caller, base)).rejects.toMatchObject({ field: "directoryUrl", message: expect.stringMatching(/not trusted|self.signed|certificate/i) });
    await expect(createAcmeAccount(db, box, caller, { ...base, acceptTerms: false as unknown as true, trustPem: pebble.tlsCaPem })).rejects.toThrow(/terms of service must be accepted/);
    await expect(createAcmeAccount(db, box, caller, { ...base, directoryUrl: "http://example.test/dir", trustPem: pebble.tlsCaPem })).rejects.toThrow(/https:\/\//);
    expect(await db.acmeAccount.count()).toBe(0);
    const account = await createAcmeAccount(db, box, caller, { ...base, trustPem: pebble.tlsCaPem });
    expect(account).toMatchObject({ name: "pebble", contact: ["mailto:ops@example.test"], privateCa: true, accountUrl: expect.stringMatching(/^https:\/\//) });
    expect(account.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(account)).not.toMatch(/PRIVATE KEY|keyEnc/);
    accountId = account.id;
  });

  it("a CA that requires External Account Binding gets it: without it, or with a wrong key, the account is refused under the field", async () => {
    const hmacKey = "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W";
    const eabCa = await startPebble(lab.bridgeAddress, { eab: { "kid-1": hmacKey }, ports: { acme: 14100, mgmt: 15100, dns: 18153, dnsMgmt: 18155 } });
    try {
      const base = { name: "pebble-eab", directoryUrl: eabCa.directoryUrl, acceptTerms: true as const, trustPem: eabCa.tlsCaPem };
      await expect(createAcmeAccount(db, box, caller, base)).rejects.toMatchObject({ field: "eab", message: expect.stringMatching(/requires External Account Binding/) });
      await expect(createAcmeAccount(db, box, caller, { ...base, eab: { kid: "kid-1", hmacKey: "d3JvbmctaG1hYy1rZXktd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmc" } })).rejects.toMatchObject({
        field: "eab",
        message: expect.stringMatching(/^The CA refused the account/),
      });
      expect(await db.acmeAccount.count({ where: { name: "pebble-eab" } })).toBe(0);
      const account = await createAcmeAccount(db, box, caller, { ...base, eab: { kid: "kid-1", hmacKey } });
      expect(account).toMatchObject({ eabKeyId: "kid-1" });
      expect(JSON.stringify(account)).not.toContain(hmacKey);
      await db.acmeAccount.delete({ where: { id: account.id } });
    } finally {
      await eabCa.close();
    }
  });

  it("orders the site's certificate: HAProxy answers HTTP-01, curl --cacert <Pebble's root> verifies, and the served fingerprint is recorded", async () => {
    await setSiteAcme(db, { topologyId, accountId, extraNames: [`www.${SITE}`] });
    const run = await startCertificateOrder({ db, queue }, caller, { topologyId, reason: "order" });
    const r = await succeeded(run.id);
    expect(r.outcome).toMatch(/issued .* deployed and served/);
    const phases = await db.runPhase.findMany({ where: { runId: run.id }, orderBy: { position: "asc" } });
    expect(phases.map((p) => [p.name, p.status])).toEqual([
      ["challenge answers", "done"],
      ["order", "done"],
      ["deploy", "done"],
      ["revoke previous", "done"],
    ]);
    // The fresh hosts had no HAProxy yet: the first phase applied the topology to get the answers in place.
    expect(JSON.parse(phases[0]!.data!)).toMatchObject({ applied: true });
    const cert = await current();
    expect(cert).toMatchObject({ source: "acme", names: expect.arrayContaining([SITE, `www.${SITE}`]) });
    expect(cert.issuer).toMatch(/Pebble/);
    const root = path.join(dir, "pebble-root.pem");
    writeFileSync(root, await pebble.issuingRoot());
    for (const name of [SITE, `www.${SITE}`]) {
      const body = execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", root, "--resolve", `${name}:443:${lb().address}`, `https://${name}/`], { encoding: "utf8" });
      expect(body).toContain("app on");
    }
    expect(await servedOnLb()).toMatchObject({ port: 443, matches: true, fingerprint: cert.fingerprint });
    expect(await site()).toMatchObject({ lastOutcome: "succeeded", failures: 0, accountName: "pebble" });
    // The challenge answer is stateless: any token gets "<token>.<thumbprint>", nothing else is served on that path.
    const account = await db.acmeAccount.findUniqueOrThrow({ where: { id: accountId } });
    const answer = execFileSync("curl", ["-sS", `http://${lb().address}/.well-known/acme-challenge/Tok-en_1`], { encoding: "utf8" });
    expect(answer).toBe(`Tok-en_1.${account.thumbprint}`);
    const notToken = execFileSync("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `http://${lb().address}/.well-known/acme-challenge/a/b`], { encoding: "utf8" });
    expect(notToken).toBe("503");
  });

  it("the scheduler renews the short-lived certificate before it expires, with no operator action; a load loop sees no failed request", async () => {
    const first = await current();
    const ca = await pebble.issuingRoot();
    let stop = false;
    const seen = new Map<string, number>();
    const failures: string[] = [];
    const lane = async () => {
      while (!stop) {
        try {
          const r = await get(ca);
          if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
          seen.set(r.fingerprint, (seen.get(r.fingerprint) ?? 0) + 1);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    const lanes = [lane(), lane()];
    const renewed = await waitUntil(
      async () => {
        const c = await current();
        return c.id !== first.id && (await servedOnLb())?.fingerprint === c.fingerprint ? c : null;
      },
      (VALIDITY_S + 30) * 1000,
      "the scheduler to renew the certificate",
    );
    // Keep loading a little after the swap.
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await Promise.all(lanes);
    const renewal = await db.run.findFirstOrThrow({ where: { kind: "certificate-order", requestedBy: "certificate renewal (schedule)" }, orderBy: { createdAt: "desc" } });
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    console.log(
      `renewed ${Math.round((first.notAfter.getTime() - Date.now()) / 1000)} s before the old one expired; load loop: ${total} ok, ${failures.length} failed, by certificate ${JSON.stringify([...seen])}`,
    );
    expect(renewal.status).toBe("succeeded");
    expect(renewed.notAfter.getTime()).toBeGreaterThan(first.notAfter.getTime());
    expect(Date.now()).toBeLessThan(first.notAfter.getTime());
    expect(failures).toEqual([]);
    const colon = (f: string) => f.toUpperCase();
    expect([...seen.keys()].map(colon).sort()).toEqual([first.fingerprint, renewed.fingerprint].map(colon).sort());
  });

  it("with Pebble stopped, renewal fails and is retried with backoff while the old certificate keeps serving, an alert appears; when Pebble returns, the next retry succeeds", async () => {
    const before = await current();
    await pebble.stop();
    const run = await startCertificateOrder({ db, queue }, caller, { topologyId, reason: "renew" });
    expect((await finished(run.id)).status).toBe("failed");
    // The scheduler retries by itself: the second failure in a row raises the alert.
    await waitUntil(async () => (await site()).failures >= 3, 90_000, "three failed attempts in a row");
    const attempts = await db.run.findMany({
      where: { kind: "certificate-order", createdAt: { gte: (await db.run.findUniqueOrThrow({ where: { id: run.id } })).createdAt } },
      orderBy: { createdAt: "asc" },
    });
    const gaps = attempts.slice(1).map((a, i) => (a.createdAt.getTime() - attempts[i]!.createdAt.getTime()) / 1000);
    console.log(`attempts while Pebble was down: ${attempts.map((a) => a.status).join(", ")}; gaps ${gaps.map((g) => g.toFixed(1)).join(", ")} s`);
    expect(attempts.slice(0, 3).every((a) => a.status === "failed")).toBe(true);
    // Backoff: 5 s then 10 s (±20 %), to the scan's 10 s granularity.
    expect(gaps[0]).toBeGreaterThanOrEqual(4);
    expect(gaps[1]).toBeGreaterThanOrEqual(8);
    const state = await site();
    expect(state).toMatchObject({ lastOutcome: "failed", lastError: expect.stringMatching(/did not answer|ECONNREFUSED/) });
    expect(state.nextAttemptAt!.getTime()).toBeGreaterThan(state.lastAttemptAt!.getTime());
    const alerts = (await listCertificates(db)).alerts;
    expect(alerts).toContainEqual(expect.objectContaining({ kind: "renewal-failing", topologyId }));
    // Nothing was replaced: the working certificate is still current and served.
    expect((await current()).id).toBe(before.id);
    expect((await get(await readRootFromFile())).fingerprint.toUpperCase()).toBe(before.fingerprint.toUpperCase());

    await pebble.start(); // a new root, and Pebble forgot the account: it is registered again with the same key
    const renewed = await waitUntil(async () => ((await current()).id !== before.id ? current() : null), 90_000, "the next retry to succeed");
    await waitUntil(async () => (await servedOnLb())?.fingerprint === renewed.fingerprint, 60_000, "the new certificate to be served");
    expect(await site()).toMatchObject({ failures: 0, lastOutcome: "succeeded" });
    expect((await listCertificates(db)).alerts.filter((a) => a.kind === "renewal-failing")).toEqual([]);
    const newRoot = path.join(dir, "pebble-root-2.pem");
    writeFileSync(newRoot, await pebble.issuingRoot());
    const body = execFileSync("curl", ["-sS", "--max-time", "5", "--cacert", newRoot, "--resolve", `${SITE}:443:${lb().address}`, `https://${SITE}/`], { encoding: "utf8" });
    expect(body).toContain("app on");
  });

  it("an apply after a topology change keeps the ACME certificate", async () => {
    const before = await current();
    const t = await getTopology(db, topologyId);
    await updateTopology(db, {
      id: topologyId,
      name: t.name,
      balance: "leastconn",
      rolloutBatchSize: 5,
      failureBudget: 0,
      members: t.members.map((m) => ({ serverId: m.serverId, roles: m.roles, monitoring: m.monitoring })),
    });
    const run = await applyTopologyRun({ db, queue }, caller, topologyId);
    await succeeded(run.id);
    expect((await current()).id).toBe(before.id);
    expect(await servedOnLb()).toMatchObject({ fingerprint: before.fingerprint, matches: true });
  });

  it("revoke and replace (now with an RSA 2048 key): a new certificate serves, then the old one is revoked", async () => {
    const before = await current();
    await setSiteAcme(db, { topologyId, accountId, extraNames: [`www.${SITE}`], keyType: "rsa-2048" });
    const run = await startCertificateOrder({ db, queue }, caller, { topologyId, reason: "replace" });
    const r = await succeeded(run.id);
    expect(r.outcome).toMatch(/the previous one is revoked/);
    const after = await current();
    expect(after.id).not.toBe(before.id);
    expect(await servedOnLb()).toMatchObject({ fingerprint: after.fingerprint, matches: true });
    const revoke = await db.runPhase.findUniqueOrThrow({ where: { runId_name: { runId: run.id, name: "revoke previous" } } });
    expect(JSON.parse(revoke.data!)).toMatchObject({ revoked: true, fingerprint: before.fingerprint });
    const key = new X509Certificate(after.certPem).publicKey;
    expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.modulusLength]).toEqual(["rsa", 2048]);
  });
});

let rootCache: string | null = null;
/** Pebble's root while it is stopped: the one saved by the order test. */
async function readRootFromFile(): Promise<string> {
  rootCache ??= (await import("node:fs")).readFileSync(path.join(dir, "pebble-root.pem"), "utf8");
  return rootCache;
}
