// Secrets an operator cannot redirect: a server an operator adds to a topology that
// holds secrets (app secret values, the site's key), or moves to another address,
// receives none until an admin approves it; the apply says who waits and why.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Db } from "@/server/db";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { secretsWaitForApproval, setApp } from "@/server/services/topologies";
import { DEFAULT_APP } from "@/server/schemas/topology";
import { createTestDb } from "../support/test-db";
import { contextFor, makeUser } from "../support/auth";

let db: Db;
let box: SecretBox;
let caller: (who: "operator" | "admin") => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const servers: Array<{ id: string; name: string }> = [];

beforeAll(async () => {
  let url: string;
  let dir: string;
  ({ db, url, dir } = await createTestDb());
  process.env.DATABASE_URL = url;
  process.env.DATA_DIR = dir;
  process.env.REDIS_URL = inject("redisUrl");
  box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
  const { createCallerFactory } = await import("@/server/api/trpc");
  const { appRouter } = await import("@/server/api/root");
  const users = { operator: await makeUser(db, "operator"), admin: await makeUser(db, "admin") };
  caller = async (who) => createCallerFactory(appRouter)(contextFor(db, users[who].principal));
  const key = await db.sshKey.create({ data: { name: "k", type: "ssh-ed25519", publicKey: "ssh-ed25519 AAAA", fingerprint: "SHA256:k", privateKeyEnc: "x", createdBy: "t" } });
  for (const [i, name] of ["web-a", "web-b", "web-c"].entries())
    servers.push(await db.server.create({ data: { name, address: `10.66.0.${i + 1}`, sshKeyId: key.id, hostKeyStatus: "pinned", hostKey: "ssh-ed25519 AAAA", hostKeyFingerprint: `SHA256:${i}` } }));
});
afterAll(() => db.$disconnect());

const member = (i: number) => ({ serverId: servers[i]!.id, roles: i === 0 ? ["load-balancer"] : ["web", "app"] });

describe("members and the topology's secrets", () => {
  it("an operator's new or moved server waits for an admin before it receives secrets; an admin's does not", async () => {
    const operator = await caller("operator");
    const admin = await caller("admin");
    const t = await operator.topologies.create({ name: "www.approve.test", members: [member(0), member(1)] });
    expect(t.members.map((m: { approved: boolean }) => m.approved)).toEqual([false, false]);
    // No secrets yet: nothing to wait for.
    expect(await secretsWaitForApproval(db, t.id)).toBeNull();

    await setApp(db, box, { id: t.id, app: { ...DEFAULT_APP, env: [{ name: "API_TOKEN", value: "tok-999999", secret: true }] } });
    expect(await secretsWaitForApproval(db, t.id)).toMatch(/^web-a, web-b wait for an admin to approve them .* holds the app's secret values/);

    await expect(operator.topologies.approveMembers({ id: t.id })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect((await admin.topologies.approveMembers({ id: t.id })).members.every((m: { approved: boolean }) => m.approved)).toBe(true);
    expect(await secretsWaitForApproval(db, t.id)).toBeNull();

    // An operator adds a third server: only it waits; the others keep their approval.
    await operator.topologies.update({ id: t.id, name: "www.approve.test", members: [member(0), member(1), member(2)] });
    expect(await secretsWaitForApproval(db, t.id)).toMatch(/^web-c waits for an admin/);
    await admin.topologies.approveMembers({ id: t.id });

    // An operator points a member at another address: it waits again. An admin's move does not.
    const a = await db.server.findUniqueOrThrow({ where: { id: servers[0]!.id } });
    await operator.servers.update({ id: a.id, name: a.name, address: "10.66.9.9", port: 22, user: "root", sshKeyId: a.sshKeyId, labels: [] });
    expect(await secretsWaitForApproval(db, t.id)).toMatch(/^web-a waits for an admin/);
    await admin.topologies.approveMembers({ id: t.id });
    const b = await db.server.findUniqueOrThrow({ where: { id: servers[1]!.id } });
    await admin.servers.update({ id: b.id, name: b.name, address: "10.66.9.10", port: 22, user: "root", sshKeyId: b.sshKeyId, labels: [] });
    expect(await secretsWaitForApproval(db, t.id)).toBeNull();

    // Members an admin adds are approved by them.
    await operator.topologies.update({ id: t.id, name: "www.approve.test", members: [member(0), member(1)] });
    await admin.topologies.update({ id: t.id, name: "www.approve.test", members: [member(0), member(1), member(2)] });
    expect(await secretsWaitForApproval(db, t.id)).toBeNull();
  });
});
