// Alerts delivered by Alertmanager's webhook: one row per firing, resolved in place,
// a new firing of the same alert a new row; listed firing first, per topology.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@/server/api/root";
import { createCallerFactory } from "@/server/api/trpc";
import type { Db } from "@/server/db";
import { AlertmanagerWebhook } from "@/server/schemas/monitoring";
import { expireSilence, ingestAlerts, listSilences, silenceAlert } from "@/server/services/alerts";
import { SilenceInput } from "@/server/schemas/monitoring";
import { alertmanagerConfig } from "@/scripts/prometheus-config.mjs";
import { freePort } from "../support/redis-server";
import { waitUntil } from "../support/processes";
import { createTestDb } from "../support/test-db";
import { contextFor, makeUser } from "../support/auth";
import type { Principal } from "@/server/auth/principal";

let db: Db;
let viewer: Principal;
const caller = () => createCallerFactory(appRouter)(contextFor(db, viewer));

beforeAll(async () => {
  ({ db } = await createTestDb());
  viewer = (await makeUser(db, "viewer")).principal;
});
afterAll(() => db.$disconnect());

const NEVER = "0001-01-01T00:00:00Z";
const hook = (status: "firing" | "resolved", startsAt: string, endsAt = NEVER, topologyId = "t1") =>
  AlertmanagerWebhook.parse({
    version: "4",
    status,
    receiver: "rampart",
    alerts: [
      {
        status,
        labels: { alertname: "WebServerDown", severity: "critical", server: "web1", server_id: "s1", topology: "www.shop.test", topology_id: topologyId, exporter: "nginx", job: "servers" },
        annotations: { summary: "nginx on web1 does not answer", description: "Check `systemctl status nginx` on it." },
        startsAt,
        endsAt,
        generatorURL: "http://127.0.0.1:9390/graph",
        fingerprint: "0123456789abcdef",
      },
    ],
  });

describe("alerts from Alertmanager", () => {
  it("records a firing alert, resolves it in place, and keeps a second firing apart", async () => {
    expect(await ingestAlerts(db, hook("firing", "2026-12-04T10:00:00Z"))).toEqual({ firing: 1, resolved: 0 });
    // Alertmanager repeats notifications: still one row.
    await ingestAlerts(db, hook("firing", "2026-12-04T10:00:00Z"));
    let list = await caller().monitoring.alerts({ limit: 50 });
    expect(list.firing).toHaveLength(1);
    expect(list.firing[0]).toMatchObject({ name: "WebServerDown", severity: "critical", status: "firing", summary: "nginx on web1 does not answer", topologyId: "t1", serverId: "s1", endsAt: null });
    expect(list.firing[0]!.labels.exporter).toBe("nginx");

    await ingestAlerts(db, hook("resolved", "2026-12-04T10:00:00Z", "2026-12-04T10:02:00Z"));
    list = await caller().monitoring.alerts({ limit: 50 });
    expect(list.firing).toEqual([]);
    expect(list.history.map((a) => [a.status, a.endsAt?.toISOString()])).toEqual([["resolved", "2026-12-04T10:02:00.000Z"]]);

    await ingestAlerts(db, hook("firing", "2026-12-04T11:00:00Z"));
    list = await caller().monitoring.alerts({ limit: 50 });
    expect(list.firing.map((a) => a.startsAt.toISOString())).toEqual(["2026-12-04T11:00:00.000Z"]);
    expect(list.history).toHaveLength(1);
    // Per topology.
    expect((await caller().monitoring.alerts({ topologyId: "t2", limit: 50 })).firing).toEqual([]);
    expect((await caller().monitoring.alerts({ topologyId: "t1", limit: 50 })).firing).toHaveLength(1);
  });

  it("refuses what is not an Alertmanager webhook", () => {
    expect(AlertmanagerWebhook.safeParse({ version: "4", status: "firing", alerts: [{ status: "burning", labels: {}, startsAt: "x", endsAt: NEVER, fingerprint: "f" }] }).success).toBe(false);
  });
});

describe("silences, kept by a real Alertmanager", () => {
  it("silences a firing alert on its server and topology for a while, lists it, and ends it", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-am-"));
    writeFileSync(path.join(dir, "token"), "x".repeat(48));
    writeFileSync(path.join(dir, "am.yml"), alertmanagerConfig({ rampartUrl: "http://127.0.0.1:9/api/alertmanager", tokenFile: path.join(dir, "token") }));
    const port = await freePort();
    const am = spawn("prometheus-alertmanager", [`--config.file=${path.join(dir, "am.yml")}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address="], {
      stdio: "ignore",
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitUntil(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok, 30_000, "Alertmanager");
      await ingestAlerts(db, hook("firing", "2026-12-04T12:00:00Z", NEVER, "t9"));
      const alert = (await caller().monitoring.alerts({ topologyId: "t9", limit: 10 })).firing[0]!;
      const before = Date.now();
      const s = await silenceAlert(db, url, { name: "olga@example.test" }, SilenceInput.parse({ alertId: alert.id, durationS: 14400 }));
      expect(s.matchers).toEqual([
        { name: "alertname", value: "WebServerDown" },
        { name: "server_id", value: "s1" },
        { name: "topology_id", value: "t9" },
      ]);
      const listed = await listSilences(url);
      expect(listed.map((x) => [x.id, x.createdBy, x.comment])).toEqual([[s.id, "olga@example.test", "Silenced from Rampart: nginx on web1 does not answer"]]);
      expect(Math.abs(listed[0]!.endsAt.getTime() - (before + 14400_000))).toBeLessThan(5_000);
      await expireSilence(url, s.id);
      expect(await listSilences(url)).toEqual([]);
      // Only the offered durations; an unknown alert; no Alertmanager.
      expect(SilenceInput.safeParse({ alertId: alert.id, durationS: 60 }).success).toBe(false);
      await expect(silenceAlert(db, url, { name: "x" }, { alertId: "nope", durationS: 3600, comment: "" })).rejects.toMatchObject({ code: "NOT_FOUND", field: "alertId" });
      await expect(silenceAlert(db, undefined, { name: "x" }, { alertId: alert.id, durationS: 3600, comment: "" })).rejects.toMatchObject({ code: "UNAVAILABLE" });
      await expect(expireSilence(url, "../../x")).rejects.toMatchObject({ code: "BAD_REQUEST" });
    } finally {
      am.kill("SIGTERM");
    }
  });
});
