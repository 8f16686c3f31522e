// The monitoring API without Prometheus data: the scrape targets (which servers, which
// exporters, which labels), the scrape job for a Prometheus of the operator's own
// (checked by Prometheus's own promtool), and what the Monitoring view says when
// Prometheus is missing or does not answer.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@/server/api/root";
import { createCallerFactory } from "@/server/api/trpc";
import type { Db } from "@/server/db";
import { externalScrapeConfig } from "@/server/monitoring/views";
import { serverMonitoring, topologyMonitoring } from "@/server/services/monitoring";
import { rulesFile, writeRulesFile } from "@/server/services/alert-rules";
import { readFileSync } from "node:fs";
import { createTestDb } from "../support/test-db";
import { contextFor, makeUser } from "../support/auth";
import { freePort } from "../support/redis-server";
import type { Principal } from "@/server/auth/principal";

let db: Db;
let viewer: Principal;
let admin: Principal;
let applied: string;
const ids: Record<string, string> = {};
const caller = () => createCallerFactory(appRouter)(contextFor(db, viewer));

beforeAll(async () => {
  ({ db } = await createTestDb());
  viewer = (await makeUser(db, "viewer")).principal;
  admin = (await makeUser(db, "admin")).principal;
  const key = await db.sshKey.create({ data: { name: "k", type: "ssh-ed25519", publicKey: "ssh-ed25519 AAAA", fingerprint: "SHA256:k", privateKeyEnc: "x", createdBy: "t" } });
  const server = (name: string, address: string) => db.server.create({ data: { name, address, sshKeyId: key.id } });
  const [lb, web, db1, spare] = [await server("lb1", "10.9.0.1"), await server("web1", "10.9.0.2"), await server("db1", "10.9.0.3"), await server("spare1", "fd00::4")];
  ids.lonely = (await server("lonely1", "10.9.0.9")).id;
  Object.assign(ids, { lb: lb.id, web: web.id, db: db1.id });
  const run = await db.run.create({ data: { kind: "topology-apply", requestedBy: "t", status: "succeeded" } });
  applied = (
    await db.topology.create({
      data: {
        name: "www.shop.test",
        lastApplyRunId: run.id,
        members: {
          create: [
            { serverId: lb.id, roles: JSON.stringify(["load-balancer"]) },
            { serverId: web.id, roles: JSON.stringify(["web", "app"]) },
            { serverId: db1.id, roles: JSON.stringify(["db-primary"]), monitoring: false },
          ],
        },
      },
    })
  ).id;
  // Never applied: its exporters are not installed, so they are not scraped (they would read as down).
  await db.topology.create({ data: { name: "www.later.test", members: { create: [{ serverId: spare.id, roles: JSON.stringify(["web"]) }] } } });
});
afterAll(() => db.$disconnect());

describe("monitoring API", () => {
  it("lists every exporter of the applied topologies' monitored servers, in Prometheus's HTTP service-discovery format", async () => {
    const groups = await caller().monitoring.targets();
    expect(groups.map((g) => [g.targets, g.labels.server, g.labels.exporter, g.labels.roles])).toEqual([
      [["10.9.0.1:9100"], "lb1", "node", ",load-balancer,"],
      [["10.9.0.1:8405"], "lb1", "haproxy", ",load-balancer,"],
      [["10.9.0.2:9100"], "web1", "node", ",web,app,"],
      [["10.9.0.2:9114"], "web1", "nginx", ",web,app,"],
    ]);
    expect(groups[0]!.labels).toMatchObject({ topology: "www.shop.test", topology_id: applied });
  });

  it("offers a scrape job for a Prometheus of your own, which promtool accepts", async () => {
    const { config, files } = await caller().monitoring.scrapeConfig();
    expect(files.key).toMatch(/prometheus\/tls\/collector\.key$/);
    expect(config).toContain("/api/v1/monitoring/targets");
    // promtool reads the files the job names: give it some (the config is what is checked).
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-promtool-"));
    for (const f of ["token", "ca.pem", "c.pem", "c.key"]) writeFileSync(path.join(dir, f), "x\n");
    const mine = externalScrapeConfig({
      sdUrl: "https://rampart.example.test/api/v1/monitoring/targets",
      tokenFile: path.join(dir, "token"),
      ca: path.join(dir, "ca.pem"),
      cert: path.join(dir, "c.pem"),
      key: path.join(dir, "c.key"),
    });
    writeFileSync(path.join(dir, "prometheus.yml"), mine);
    const check = spawnSync("promtool", ["check", "config", "--syntax-only", path.join(dir, "prometheus.yml")], { encoding: "utf8" });
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it("says why the charts are empty: no Prometheus configured, or one that does not answer", async () => {
    const none = await topologyMonitoring(db, undefined, { id: applied, rangeS: 900 });
    expect(none.error).toMatch(/no Prometheus is configured/);
    expect(none.charts.map((c) => c.id)).toEqual(["lb-qps", "web-qps", "backend-qps", "errors", "latency", "cpu", "memory", "disk", "load", "replica-lag", "certificates"]);
    expect(none.servers.map((s) => [s.name, s.exporters.map((e) => e.name)])).toEqual([
      ["db1", []],
      ["lb1", ["node", "haproxy"]],
      ["web1", ["node", "nginx"]],
    ]);
    const dead = await topologyMonitoring(db, `http://127.0.0.1:${await freePort()}`, { id: applied, rangeS: 900 });
    expect(dead.error).toMatch(/did not answer/);
    await expect(caller().monitoring.topology({ id: "nope", rangeS: 900 })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller().monitoring.topology({ id: applied, rangeS: 42 })).rejects.toMatchObject({ code: "BAD_REQUEST" });
  });

  it("gives a server its own charts, for its roles, and null for a server in no topology", async () => {
    const web = await caller().monitoring.server({ id: ids.web!, rangeS: 900 });
    expect(web).toMatchObject({ topologyId: applied, server: { id: ids.web, name: "web1" } });
    expect(web!.charts.map((c) => c.id)).toEqual(["web-qps", "cpu", "memory", "disk", "load"]);
    expect(web!.charts.every((c) => c.query.includes(`server_id="${ids.web}"`) && !c.query.includes("topology_id"))).toBe(true);
    expect(web!.servers.map((s) => [s.name, s.exporters.map((e) => e.name)])).toEqual([["web1", ["node", "nginx"]]]);
    const lb = await caller().monitoring.server({ id: ids.lb!, rangeS: 900 });
    expect(lb!.charts.map((c) => c.id)).toEqual(["lb-qps", "backend-qps", "errors", "latency", "cpu", "memory", "disk", "load"]);
    const database = await caller().monitoring.server({ id: ids.db!, rangeS: 900 });
    expect(database!.charts.map((c) => c.id)).toEqual(["cpu", "memory", "disk", "load", "replica-lag"]);
    expect(await caller().monitoring.server({ id: ids.lonely!, rangeS: 900 })).toBeNull();
    await expect(caller().monitoring.server({ id: "nope", rangeS: 900 })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("colours each server by health: an alert firing for it, monitoring off, nothing scraped yet", async () => {
    const alert = (name: string, severity: string, serverId: string, status = "firing") =>
      db.alert.create({
        data: { fingerprint: `${name}-${serverId}`, name, severity, status, labels: "{}", summary: `${name} on it`, topologyId: applied, serverId, startsAt: new Date() },
      });
    await alert("WebServerDown", "critical", ids.web!);
    await alert("DiskAlmostFull", "warning", ids.lb!);
    await alert("HostDown", "critical", ids.lb!, "resolved");
    try {
      const v = await topologyMonitoring(db, undefined, { id: applied, rangeS: 900 });
      const health = Object.fromEntries(v.servers.map((s) => [s.name, s.health]));
      expect(health.web1).toEqual({ state: "down", reasons: ["WebServerDown: WebServerDown on it"] });
      expect(health.lb1).toEqual({ state: "degraded", reasons: ["DiskAlmostFull: DiskAlmostFull on it"] });
      expect(health.db1).toEqual({ state: "unknown", reasons: ["monitoring is off"] });
      // The server's own view sees its own alerts.
      expect((await serverMonitoring(db, undefined, { id: ids.web!, rangeS: 900 }))!.servers[0]!.health.state).toBe("down");
    } finally {
      await db.alert.deleteMany({});
    }
  });

  it("lets an admin change a rule's threshold and duration or turn it off, within bounds; the rules file follows", async () => {
    const asAdmin = createCallerFactory(appRouter)(contextFor(db, admin));
    const before = await caller().monitoring.alertRules();
    expect(before.map((r) => r.name)).toEqual([
      "HostDown",
      "WebServerDown",
      "High5xxRatio",
      "ReplicationBroken",
      "ReplicaLagHigh",
      "DiskAlmostFull",
      "CertificateExpiring",
      "CertificateRenewalFailing",
    ]);
    expect(before.find((r) => r.name === "DiskAlmostFull")).toMatchObject({ value: { threshold: 10, forS: 300, enabled: true }, updatedBy: null, threshold: { unit: "%", min: 1, max: 99 } });
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-rules-"));
    expect(await writeRulesFile(db, dir)).toBe(true);
    expect(await writeRulesFile(db, dir)).toBe(false);
    expect(readFileSync(rulesFile(dir), "utf8")).toContain("< 0.1");

    // Bad input names the field and changes nothing.
    await expect(asAdmin.monitoring.updateAlertRule({ name: "DiskAlmostFull", threshold: 150, forS: 300, enabled: true })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/between 1 and 99 %/),
    });
    await expect(asAdmin.monitoring.updateAlertRule({ name: "DiskAlmostFull", forS: 300, enabled: true })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/needs a threshold/),
    });
    await expect(asAdmin.monitoring.updateAlertRule({ name: "HostDown", threshold: 3, forS: 60, enabled: true })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/has no threshold/),
    });
    await expect(asAdmin.monitoring.updateAlertRule({ name: "ReplicaLagHigh", threshold: 2.5, forS: 60, enabled: true })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: expect.stringMatching(/whole number/),
    });
    await expect(asAdmin.monitoring.updateAlertRule({ name: "DiskAlmostFull", threshold: 20, forS: -1, enabled: true })).rejects.toMatchObject({ code: "BAD_REQUEST" });
    await expect(asAdmin.monitoring.updateAlertRule({ name: "NoSuchRule", forS: 60, enabled: true })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(caller().monitoring.updateAlertRule({ name: "DiskAlmostFull", threshold: 20, forS: 60, enabled: true })).rejects.toMatchObject({ code: "FORBIDDEN" });
    expect(await db.alertRuleSetting.count()).toBe(0);

    const changed = await asAdmin.monitoring.updateAlertRule({ name: "DiskAlmostFull", threshold: 20, forS: 120, enabled: true });
    expect(changed).toMatchObject({ value: { threshold: 20, forS: 120, enabled: true }, updatedBy: expect.stringContaining("@") });
    await asAdmin.monitoring.updateAlertRule({ name: "HostDown", threshold: null, forS: 60, enabled: false });
    expect(await writeRulesFile(db, dir)).toBe(true);
    const text = readFileSync(rulesFile(dir), "utf8");
    expect(text).toContain("< 0.2");
    expect(text).toContain("for: 2m");
    expect(text).not.toContain("HostDown");
    const check = spawnSync("promtool", ["check", "rules", rulesFile(dir)], { encoding: "utf8" });
    expect(check.stdout).toContain("SUCCESS: 7 rules found");

    // The same file, and a receiver for an Alertmanager of the operator's own (amtool accepts it).
    const external = await caller().monitoring.rules();
    expect(external.rules).toBe(text);
    expect(external.alertmanager).toContain("/api/alertmanager");
    writeFileSync(path.join(dir, "token"), "x".repeat(48));
    writeFileSync(path.join(dir, "am.yml"), external.alertmanager.replace("/etc/alertmanager/rampart-token", path.join(dir, "token")));
    const am = spawnSync("amtool", ["check-config", path.join(dir, "am.yml")], { encoding: "utf8" });
    expect(am.status, am.stdout + am.stderr).toBe(0);
    await db.alertRuleSetting.deleteMany({});
  });
});
