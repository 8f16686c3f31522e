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
import { topologyMonitoring } from "@/server/services/monitoring";
import { createTestDb } from "../support/test-db";
import { contextFor, makeUser } from "../support/auth";
import { freePort } from "../support/redis-server";
import type { Principal } from "@/server/auth/principal";

let db: Db;
let viewer: Principal;
let applied: string;
const caller = () => createCallerFactory(appRouter)(contextFor(db, viewer));

beforeAll(async () => {
  ({ db } = await createTestDb());
  viewer = (await makeUser(db, "viewer")).principal;
  const key = await db.sshKey.create({ data: { name: "k", type: "ssh-ed25519", publicKey: "ssh-ed25519 AAAA", fingerprint: "SHA256:k", privateKeyEnc: "x", createdBy: "t" } });
  const server = (name: string, address: string) => db.server.create({ data: { name, address, sshKeyId: key.id } });
  const [lb, web, db1, spare] = [await server("lb1", "10.9.0.1"), await server("web1", "10.9.0.2"), await server("db1", "10.9.0.3"), await server("spare1", "fd00::4")];
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
});
