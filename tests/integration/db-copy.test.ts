// Moving an installation to another database: every table copied, parents first, and
// the destination keeps working afterwards. The source is SQLite; the destination is
// the test run's database (SQLite, or PostgreSQL in the PostgreSQL run: the real move).
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/server/db";
import { ALL_MODELS, COPY_ORDER, copyDatabase, CopyRefusedError } from "@/server/db-copy";
import { recordAudit, SYSTEM_ACTOR } from "@/server/auth/audit";
import { createToken } from "@/server/services/tokens";
import { createTestDb } from "../support/test-db";
import { makeUser } from "../support/auth";

let src: { db: Db; url: string };
const opened: Db[] = [];

beforeAll(async () => {
  src = await createTestDb({ sqlite: true });
  opened.push(src.db);
  const db = src.db;
  const u = await makeUser(db, "admin", "copy@example.test");
  await createToken(db, u.principal, { name: "ci", scope: "read", expiresInDays: 7 });
  for (let i = 0; i < 3; i++) await recordAudit(db, { actor: SYSTEM_ACTOR, action: `copy.test.${i}`, outcome: "ok" });
  const key = await db.sshKey.create({ data: { name: "k", type: "ssh-ed25519", publicKey: "ssh-ed25519 AAAA", fingerprint: "SHA256:x", privateKeyEnc: "enc", createdBy: "t" } });
  const server = await db.server.create({ data: { name: "web1", address: "10.0.0.1", sshKeyId: key.id } });
  const t = await db.topology.create({ data: { name: "www.copy.test", members: { create: [{ serverId: server.id, roles: JSON.stringify(["web"]) }] } } });
  const run = await db.run.create({ data: { kind: "topology-apply", requestedBy: "t", topologyId: t.id, status: "succeeded", runTargets: { create: [{ serverId: server.id }] } } });
  // More events than one chunk, so paging is exercised.
  await db.runEvent.createMany({ data: Array.from({ length: 2500 }, (_, i) => ({ runId: run.id, seq: i + 1, level: "info", host: "web1", text: `line ${i + 1}` })) });
  await db.runPhase.create({ data: { runId: run.id, name: "apply", position: 0, status: "done" } });
});
afterAll(async () => {
  await Promise.all(opened.map((d) => d.$disconnect()));
});

describe("copying a database", () => {
  it("names every model, parents first", () => {
    expect([...COPY_ORDER].sort()).toEqual([...ALL_MODELS].sort());
  });

  it("copies every row; new rows get fresh ids afterwards; a second copy into it is refused", async () => {
    const dst = await createTestDb();
    opened.push(dst.db);
    const copied = await copyDatabase(src.db, dst.db, dst.url);
    expect(copied).toMatchObject({ RunEvent: 2500, AuditEntry: 3, RunTarget: 1, TopologyMember: 1, User: 1, ApiToken: 1 });
    for (const model of COPY_ORDER) {
      const name = model[0]!.toLowerCase() + model.slice(1);
      const count = (d: Db) => (d as unknown as Record<string, { count(): Promise<number> }>)[name]!.count();
      expect(await count(dst.db), model).toBe(await count(src.db));
    }
    const events = await dst.db.runEvent.findMany({ orderBy: { seq: "asc" }, select: { seq: true, text: true } });
    expect(events[0]).toEqual({ seq: 1, text: "line 1" });
    expect(events[2499]).toEqual({ seq: 2500, text: "line 2500" });
    expect(await dst.db.user.findUniqueOrThrow({ where: { email: "copy@example.test" } })).toEqual(await src.db.user.findUniqueOrThrow({ where: { email: "copy@example.test" } }));

    // Autoincrement ids continue after the copied ones.
    const run = await dst.db.run.findFirstOrThrow();
    const next = await dst.db.runEvent.create({ data: { runId: run.id, seq: 2501, level: "info", text: "after the copy" } });
    expect(next.id).toBeGreaterThan(Math.max(...(await src.db.runEvent.findMany({ select: { id: true } })).map((e) => e.id)));
    await recordAudit(dst.db, { actor: SYSTEM_ACTOR, action: "copy.test.after", outcome: "ok" });

    await expect(copyDatabase(src.db, dst.db, dst.url)).rejects.toBeInstanceOf(CopyRefusedError);
    await expect(copyDatabase(src.db, dst.db, dst.url)).rejects.toThrow(/destination already holds rows \(User, Session, ApiToken, AuditEntry, SshKey/);
  });

  it("npm run db:copy: migrates a new destination, copies, and refuses to copy twice or from nothing", async () => {
    const url = `file:${path.join(mkdtempSync(path.join(os.tmpdir(), "rampart-copy-")), "new.db")}`;
    const r = spawnSync("node", ["dist/copy-db.mjs", "--from", src.url, "--to", url], { encoding: "utf8", timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`applying the migrations of ${url}`);
    expect(r.stderr).toMatch(/copied \d+ rows from file:.* to file:.* in [\d.]+ s/);
    const dst = { url, db: await createDb(url) };
    opened.push(dst.db);
    expect(await dst.db.runEvent.count()).toBe(2500);
    const again = spawnSync("node", ["dist/copy-db.mjs", "--from", src.url, "--to", dst.url], { encoding: "utf8", timeout: 120_000 });
    expect(again.status).toBe(1);
    expect(again.stderr.trim().split("\n").pop()).toMatch(/^rampart: the destination already holds rows/);
    const missing = spawnSync("node", ["dist/copy-db.mjs", "--from", "file:/nonexistent/rampart.db", "--to", dst.url], { encoding: "utf8" });
    expect(missing.stderr.trim()).toBe("rampart: there is no database at file:/nonexistent/rampart.db");
    const usage = spawnSync("node", ["dist/copy-db.mjs", "--from", src.url], { encoding: "utf8" });
    expect(usage.stderr).toMatch(/^rampart: usage: npm run db:copy -- --from <DATABASE_URL> --to <DATABASE_URL>/);
  });
});
