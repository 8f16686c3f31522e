// A server's health from its exporters' last scrapes and the alerts firing for it.
import { describe, expect, it } from "vitest";
import { serverHealth } from "@/server/monitoring/health";

const up = (name: string, v: boolean | null) => ({ name, up: v });

describe("serverHealth", () => {
  it("is healthy only when every exporter answered and no alert fires", () => {
    expect(serverHealth([up("node", true), up("nginx", true)], [])).toEqual({ state: "healthy", reasons: [] });
  });
  it("is down when the host or one of its services does not answer, or a critical alert fires", () => {
    expect(serverHealth([up("node", false), up("nginx", false)], [])).toEqual({ state: "down", reasons: ["does not answer (node exporter down)", "nginx exporter down"] });
    expect(serverHealth([up("node", true), up("haproxy", false)], []).state).toBe("down");
    expect(serverHealth([up("node", true)], [{ name: "ReplicationBroken", severity: "critical", summary: "Replication on db2 is stopped" }])).toEqual({
      state: "down",
      reasons: ["ReplicationBroken: Replication on db2 is stopped"],
    });
  });
  it("is degraded by a warning, critical alerts listed first", () => {
    expect(serverHealth([up("node", true)], [{ name: "DiskAlmostFull", severity: "warning", summary: "" }])).toEqual({ state: "degraded", reasons: ["DiskAlmostFull: DiskAlmostFull"] });
    const both = serverHealth(
      [up("node", true)],
      [
        { name: "DiskAlmostFull", severity: "warning", summary: "disk" },
        { name: "HostDown", severity: "critical", summary: "host" },
      ],
    );
    expect(both).toEqual({ state: "down", reasons: ["HostDown: host", "DiskAlmostFull: disk"] });
  });
  it("is unknown with monitoring off or before the first scrape", () => {
    expect(serverHealth([], [])).toEqual({ state: "unknown", reasons: ["monitoring is off"] });
    expect(serverHealth([up("node", true), up("mysqld", null)], [])).toEqual({ state: "unknown", reasons: ["not scraped yet: mysqld"] });
  });
});
