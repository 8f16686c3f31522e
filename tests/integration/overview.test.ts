// The Overview's data: each topology's state (the last apply's outcome first, then the
// last plan or drift check), unreachable servers, failed runs of the last day only,
// certificates expiring within 21 days (not the replaced ones), alerts firing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@/server/api/root";
import { createCallerFactory } from "@/server/api/trpc";
import type { Db } from "@/server/db";
import { createTestDb } from "../support/test-db";
import { contextFor, makeUser } from "../support/auth";

let db: Db;
const DAY = 86_400_000;

beforeAll(async () => {
  ({ db } = await createTestDb());
});
afterAll(() => db.$disconnect());

describe("overview", () => {
  it("gives each topology its state and lists what needs an operator, each item once", async () => {
    const now = Date.now();
    const key = await db.sshKey.create({ data: { name: "k", type: "ssh-ed25519", publicKey: "x", fingerprint: "x", privateKeyEnc: "x", createdBy: "t" } });
    const server = (name: string, data: Record<string, unknown> = {}) => db.server.create({ data: { name, address: `10.1.0.${name.length}`, sshKeyId: key.id, ...data } });
    const run = (kind: string, status: string, finishedAt: Date | null, topologyId?: string, outcome?: string) =>
      db.run.create({ data: { kind, status, requestedBy: "t", finishedAt, topologyId, outcome } });
    const topology = async (name: string, data: Record<string, unknown>, apply?: { status: string; outcome: string }) => {
      const t = await db.topology.create({ data: { name, ...data } });
      if (apply) await db.topology.update({ where: { id: t.id }, data: { lastApplyRunId: (await run("topology-apply", apply.status, new Date(now - 2 * DAY), t.id, apply.outcome)).id } });
      return t;
    };
    const synced = await topology("a-synced.test", { driftStatus: "in-sync" }, { status: "succeeded", outcome: "ok" });
    await topology("b-partial.test", { driftStatus: "drifted", driftChanges: 3 }, { status: "partial", outcome: "partially applied: lab3 skipped (unreachable)" });
    await topology("c-drifted.test", { driftStatus: "drifted", driftChanges: 1 }, { status: "succeeded", outcome: "ok" });
    await topology("d-failing.test", { driftStatus: "failing" }, { status: "succeeded", outcome: "ok" });
    await topology("e-new.test", {});
    await server("ok1", { lastCheckAt: new Date() });
    await server("down1", { lastCheckError: "10.1.0.5:22 is unreachable: no answer within 10 s", lastCheckAt: new Date() });
    await server("changed1", { hostKeyStatus: "mismatch" });
    const failed = await run("server-check", "failed", new Date(now - 3600_000), undefined, "1 of 3 server(s) checked");
    await run("server-check", "failed", new Date(now - 2 * DAY));
    await run("server-check", "succeeded", new Date(now - 60_000));
    const cert = (names: string, days: number, replaced = false) =>
      db.certificate.create({
        data: {
          purpose: "site",
          source: "acme",
          names,
          certPem: "x",
          keyEnc: "x",
          fingerprint: names,
          issuer: "i",
          notBefore: new Date(now - DAY),
          notAfter: new Date(now + days * DAY + 3600_000),
          createdBy: "t",
          topologyId: synced.id,
          replacedAt: replaced ? new Date() : null,
        },
      });
    await cert("soon.test", 5);
    await cert("later.test", 60);
    await cert("old.test", 1, true);
    await db.alert.create({
      data: { fingerprint: "f", name: "WebServerDown", severity: "critical", status: "firing", labels: "{}", summary: "nginx on web1 does not answer", topologyId: synced.id, startsAt: new Date() },
    });
    await db.alert.create({ data: { fingerprint: "g", name: "HostDown", severity: "critical", status: "resolved", labels: "{}", topologyId: synced.id, startsAt: new Date(now - DAY) } });

    const { principal } = await makeUser(db, "viewer");
    const o = await createCallerFactory(appRouter)(contextFor(db, principal)).overview.get();
    expect(o.topologies.map((t) => [t.name, t.state, t.detail, t.firingAlerts])).toEqual([
      ["a-synced.test", "in-sync", "every server matches and passes its checks", 1],
      ["b-partial.test", "partially-applied", "partially applied: lab3 skipped (unreachable)", 0],
      ["c-drifted.test", "drifted", "1 change to make", 0],
      ["d-failing.test", "failing", "the servers match, but a check fails", 0],
      ["e-new.test", "never-applied", "never applied: plan it, review, apply", 0],
    ]);
    expect(o.unreachableServers.map((s) => [s.name, s.problem])).toEqual([
      ["changed1", "its host key changed"],
      ["down1", "10.1.0.5:22 is unreachable: no answer within 10 s"],
    ]);
    // The partial apply and the failed check of two days ago are not "the last day".
    expect(o.failedRuns.map((r) => [r.id, r.outcome])).toEqual([[failed.id, "1 of 3 server(s) checked"]]);
    expect(o.expiringCertificates.map((c) => [c.names, c.daysLeft, c.topologyName])).toEqual([["soon.test", 5, "a-synced.test"]]);
    expect(o.alerts.map((a) => a.name)).toEqual(["WebServerDown"]);
  });
});
