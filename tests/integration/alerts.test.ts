// Alerts delivered by Alertmanager's webhook: one row per firing, resolved in place,
// a new firing of the same alert a new row; listed firing first, per topology.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appRouter } from "@/server/api/root";
import { createCallerFactory } from "@/server/api/trpc";
import type { Db } from "@/server/db";
import { AlertmanagerWebhook } from "@/server/schemas/monitoring";
import { ingestAlerts } from "@/server/services/alerts";
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
