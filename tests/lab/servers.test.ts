// Onboarding servers end to end against the lab, with the real worker process:
// first contact, accepting host keys, facts, a host key that changes (nothing
// runs, the server is marked, the audit log says so), re-pinning, and secrets
// that never appear in the database in clear.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
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
import { importKey, listKeys } from "@/server/services/ssh-keys";
import { acceptHostKey, checkServers, createServer, deleteServer, getServer, listServers, pinKnownHostKey, repinHostKey, updateServer } from "@/server/services/servers";
import { HOST_AUDIT_LOG } from "@/server/provision/host-audit";
import { createTestDb } from "../support/test-db";
import { startRedis, type TestRedis } from "../support/redis-server";
import { startWorker, waitUntil, type WorkerProcess } from "../support/processes";

let lab: LabInfo;
let db: Db;
let dir: string;
let dbUrl: string;
let redis: TestRedis;
let queue: Queue<RunJobData>;
let worker: WorkerProcess;
let box: SecretBox;
const ids: Record<string, string> = {};
const caller = { name: "tester@example.test" };

async function finished(runId: string) {
  return waitUntil(
    async () => {
      const r = await db.run.findUniqueOrThrow({ where: { id: runId } });
      return r.status !== "queued" && r.status !== "running" ? r : null;
    },
    60_000,
    `run ${runId} to finish`,
  );
}
const eventsText = async (runId: string) => (await db.runEvent.findMany({ where: { runId }, orderBy: { seq: "asc" } })).map((e) => `${e.host ?? "-"}: ${e.text}`).join("\n");

beforeAll(async () => {
  const info = await ensureLab(3);
  lab = { ...info, hosts: info.hosts.slice(0, 3) }; // the lab may have more hosts up
  redis = await startRedis();
  ({ db, dir, url: dbUrl } = await createTestDb());
  box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  queue = new Queue<RunJobData>(RUNS_QUEUE, { connection: redisOptions(redis.url, "producer") });
  worker = startWorker({ DATA_DIR: dir, DATABASE_URL: dbUrl, REDIS_URL: redis.url });
}, 600_000);

afterAll(async () => {
  worker?.child.kill("SIGTERM");
  await worker?.exited;
  await queue?.close();
  await db?.$disconnect();
  await redis?.stop();
});

describe("onboarding the lab hosts", () => {
  it("imports the lab's key; only its public half is ever returned", async () => {
    const k = await importKey(db, box, "admin@example.test", { name: "lab", privateKey: readFileSync(lab.sshKey, "utf8") });
    expect(k.publicKey.split(" ").slice(0, 2).join(" ")).toBe(lab.sshPublicKey.trim().split(" ").slice(0, 2).join(" "));
    expect(JSON.stringify(await listKeys(db))).not.toMatch(/PRIVATE KEY/);
    for (const h of lab.hosts) ids[h.name] = (await createServer(db, { name: h.name, address: h.address, port: h.port, user: "root", sshKeyId: k.id, labels: ["lab"] })).id;
  });

  it("first contact: the check records each presented fingerprint and runs nothing", async () => {
    const run = await checkServers(db, queue, caller, Object.values(ids));
    const done = await finished(run.id);
    expect(done.status).toBe("failed");
    for (const h of lab.hosts) {
      const s = await getServer(db, ids[h.name]!);
      expect(s.hostKeyStatus).toBe("pending");
      expect(s.presentedFingerprint).toBe(h.fingerprint);
      const log = path.join(h.root, HOST_AUDIT_LOG);
      expect(existsSync(log) ? readFileSync(log, "utf8") : "").not.toContain(run.id);
    }
    expect(await eventsText(run.id)).toContain(`first contact: the server presented host key ${lab.hosts[0]!.fingerprint}`);
  });

  it("after accepting the keys, the check reads every host's facts", async () => {
    for (const h of lab.hosts) await acceptHostKey(db, { id: ids[h.name]!, fingerprint: h.fingerprint });
    const run = await checkServers(db, queue, caller, Object.values(ids));
    const done = await finished(run.id);
    expect(done.status, await eventsText(run.id)).toBe("succeeded");
    expect(done.outcome).toBe("3 of 3 server(s) checked");
    for (const h of lab.hosts) {
      const s = await getServer(db, ids[h.name]!);
      expect(s.hostKeyStatus).toBe("pinned");
      expect(s.facts).toMatchObject({ os: { id: "debian", version: "12" }, systemd: "running", packages: { nftables: expect.stringMatching(/^1\./) } });
      expect(s.facts!.cpus).toBeGreaterThan(0);
      expect(s.facts!.memoryBytes).toBeGreaterThan(2 ** 28);
      expect(s.factsAt).not.toBeNull();
      // The host's own audit log has the run.
      expect(readFileSync(path.join(h.root, HOST_AUDIT_LOG), "utf8")).toContain(`run ${run.id} server-check requested by tester@example.test`);
    }
  });

  it("a server cannot be deleted while a run is using it", async () => {
    const busy = await db.run.create({ data: { kind: "server-check", requestedBy: "t", status: "running", runTargets: { create: [{ serverId: ids.lab1! }] } } });
    await expect(deleteServer(db, ids.lab1!)).rejects.toMatchObject({ code: "CONFLICT" });
    await db.run.update({ where: { id: busy.id }, data: { status: "failed", finishedAt: new Date() } });
  });
});

describe("a host key that changes", () => {
  const host = () => lab.hosts[2]!;
  let backup: string;
  let newFingerprint: string;

  beforeAll(async () => {
    // Regenerate lab3's host keys (keeping the originals to put back), then restart sshd.
    const sshDir = path.join(host().root, "etc/ssh");
    backup = mkdtempSync(path.join(os.tmpdir(), "rampart-hostkeys-"));
    for (const f of readdirSync(sshDir).filter((f) => f.startsWith("ssh_host_"))) copyFileSync(path.join(sshDir, f), path.join(backup, f));
    for (const t of ["ed25519", "rsa", "ecdsa"]) {
      rmSync(path.join(sshDir, `ssh_host_${t}_key`), { force: true });
      rmSync(path.join(sshDir, `ssh_host_${t}_key.pub`), { force: true });
      execFileSync("ssh-keygen", ["-q", "-t", t, "-N", "", "-f", path.join(sshDir, `ssh_host_${t}_key`)]);
    }
    newFingerprint = execFileSync("ssh-keygen", ["-lf", path.join(sshDir, "ssh_host_ed25519_key.pub")], { encoding: "utf8" }).split(" ")[1]!;
    // sshd re-executes itself for every connection and so reads its host keys anew:
    // the next connection already sees the new key.
  });

  afterAll(async () => {
    // Put the lab's own keys back so the lab stays as lab.json describes it.
    const sshDir = path.join(host().root, "etc/ssh");
    for (const f of readdirSync(backup)) copyFileSync(path.join(backup, f), path.join(sshDir, f));
    await labSsh(host().name, ["true"]); // the lab's own pinned key works again
    await pinKnownHostKey(db, { id: ids.lab3!, knownHostsLine: `${host().address} ${host().hostKey}` }, true);
  });

  it("stops the next run before anything executes, marks the server, and audits it", async () => {
    const run = await checkServers(db, queue, caller, [ids.lab3!]);
    const done = await finished(run.id);
    expect(done.status).toBe("failed");
    const s = await getServer(db, ids.lab3!);
    expect(s).toMatchObject({ hostKeyStatus: "mismatch", hostKeyFingerprint: host().fingerprint, presentedFingerprint: newFingerprint });
    // The run's first command appends to the host's audit log: it never ran.
    expect(readFileSync(path.join(host().root, HOST_AUDIT_LOG), "utf8")).not.toContain(run.id);
    expect(await eventsText(run.id)).toContain(`HOST KEY MISMATCH for lab3 (${host().address}:22): expected ${host().fingerprint}, but the server presented ${newFingerprint}`);
    const audit = await db.auditEntry.findFirstOrThrow({ where: { action: "ssh.hostKeyMismatch", target: "lab3" } });
    expect(audit).toMatchObject({ actorKind: "system", outcome: "denied" });
    expect(JSON.parse(audit.detail)).toMatchObject({ runId: run.id, expected: host().fingerprint, presented: newFingerprint });
  });

  it("an operator cannot sidestep the re-pin by moving the server away and back", async () => {
    const s = await getServer(db, ids.lab3!);
    const moved = { id: s.id, name: s.name, address: s.address, port: 2222, user: s.user, sshKeyId: s.sshKeyId, labels: s.labels };
    await expect(updateServer(db, moved, false)).rejects.toMatchObject({ code: "FORBIDDEN", field: "address" });
    expect((await getServer(db, ids.lab3!)).hostKeyStatus).toBe("mismatch");
  });

  it("only the presented key can be re-pinned, and then the server works again", async () => {
    await expect(acceptHostKey(db, { id: ids.lab3!, fingerprint: newFingerprint })).rejects.toMatchObject({ code: "FORBIDDEN" });
    await expect(repinHostKey(db, { id: ids.lab3!, fingerprint: host().fingerprint })).rejects.toMatchObject({ code: "CONFLICT", field: "fingerprint" });
    const pinned = await repinHostKey(db, { id: ids.lab3!, fingerprint: newFingerprint });
    expect(pinned).toMatchObject({ hostKeyStatus: "pinned", hostKeyFingerprint: newFingerprint, previousFingerprint: host().fingerprint });
    const done = await finished((await checkServers(db, queue, caller, [ids.lab3!])).id);
    expect(done.status).toBe("succeeded");
  });
});

describe("secrets at rest", () => {
  it("the database files hold neither the private key nor its base64 body", async () => {
    await db.$queryRawUnsafe("PRAGMA wal_checkpoint(FULL)");
    const pem = readFileSync(lab.sshKey, "utf8");
    const body = pem
      .split("\n")
      .filter((l) => l && !l.startsWith("-----"))
      .join("");
    const dump = ["rampart.db", "rampart.db-wal"]
      .map((f) => path.join(dir, f))
      .filter(existsSync)
      .map((f) => readFileSync(f).toString("latin1"))
      .join("");
    expect(dump).toContain("lab"); // a real dump
    expect(dump).not.toContain("PRIVATE KEY");
    for (const line of pem.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"))) expect(dump).not.toContain(line);
    expect(dump).not.toContain(body.slice(0, 40));
    expect(JSON.stringify(await listServers(db))).not.toContain(body.slice(0, 40));
  });
});
