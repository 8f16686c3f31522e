// "Apply this plan": the apply's own plan may only take steps the reviewed plan showed.
import { describe, expect, it } from "vitest";
import { staleText, unreviewedSteps } from "@/server/provision/plan-review";
import { planCounts, type PlanDto, type PlanStepDto } from "@/server/schemas/topology";

const step = (resource: string, action: string, diff: string | null = null, extra: Partial<PlanStepDto> = {}): PlanStepDto => ({
  id: `${resource}:${action}`,
  tier: "web",
  resource,
  kind: "file",
  action,
  summary: `${action} ${resource}`,
  reason: "r",
  diff,
  commands: [],
  ...extra,
});
const plan = (hosts: Record<string, PlanStepDto[]>, errors: Record<string, string> = {}): PlanDto => ({
  topologyId: "t",
  topologyName: "www.shop.test",
  observedAt: new Date("2026-12-05T03:00:00Z"),
  changes: Object.values(hosts).flat().length,
  reachability: null,
  hosts: Object.entries(hosts).map(([name, steps]) => ({
    serverId: `id-${name}`,
    name,
    address: "10.0.0.1",
    roles: ["web"],
    error: errors[name] ?? null,
    unreachable: false,
    steps,
    notes: [],
    checks: [],
    outcome: null,
    outcomeReason: null,
  })),
});
const cert = (body: string) => `--- a\n+++ b\n@@ -0,0 +1,3 @@\n+-----BEGIN CERTIFICATE-----\n+${body}\n+-----END CERTIFICATE-----\n`;
const conf = (line: string) => `--- a\n+++ b\n@@ -1 +1 @@\n-old\n+${line}\n`;

describe("unreviewedSteps", () => {
  const reviewed = plan({
    web1: [step("package nginx", "install"), step("file /etc/nginx/conf.d/rampart.conf", "update", conf("listen 443 ssl;")), step("file /etc/rampart/tls/backend.pem", "create", cert("AAAA"))],
    web2: [],
  });

  it("finds nothing when the apply plans what was reviewed; a freshly made certificate is the same step; commands are not compared", () => {
    const now = plan({
      web1: [
        step("package nginx", "install", null, { commands: ["apt-get install -y nginx"] }),
        step("file /etc/nginx/conf.d/rampart.conf", "update", conf("listen 443 ssl;")),
        step("file /etc/rampart/tls/backend.pem", "create", cert("BBBB")),
      ],
      web2: [],
    });
    expect(unreviewedSteps(reviewed, now)).toEqual([]);
  });

  it("accepts fewer steps (a resumed apply, or one undone by hand): what remains was reviewed", () => {
    expect(unreviewedSteps(reviewed, plan({ web1: [step("file /etc/rampart/tls/backend.pem", "create", cert("CCCC"))], web2: [] }))).toEqual([]);
  });

  it("names a file edited by hand since (another change) and a step the plan did not show", () => {
    const now = plan({
      web1: [step("package nginx", "install"), step("file /etc/nginx/conf.d/rampart.conf", "update", conf("listen 443 ssl; # edited"))],
      web2: [step("service nginx", "restart")],
    });
    const stale = unreviewedSteps(reviewed, now);
    expect(stale).toEqual([
      { host: "web1", resource: "file /etc/nginx/conf.d/rampart.conf", action: "update", why: "changed" },
      { host: "web2", resource: "service nginx", action: "restart", why: "new" },
    ]);
    expect(staleText(stale, reviewed.observedAt)).toBe(
      "nothing was changed: the hosts changed since the plan you reviewed (computed 2026-12-05T03:00:00.000Z) — web1: update file /etc/nginx/conf.d/rampart.conf differs from the reviewed change (changed since); web2: restart service nginx was not in the plan. Plan again, review, then apply that plan",
    );
  });

  it("leaves out a host the apply cannot plan (it is skipped, as in any apply)", () => {
    expect(unreviewedSteps(reviewed, plan({ web1: [], web2: [] }, { web2: "unreachable: timed out" }))).toEqual([]);
  });
});

describe("planCounts", () => {
  it("counts changes, hosts, reloads and restarts for the confirmation", () => {
    const p = plan({ web1: [step("file a", "update"), step("service nginx", "reload")], web2: [step("service haproxy", "restart")], web3: [] });
    expect(planCounts(p).text).toBe("3 changes on 2 hosts, 1 reload, 1 restart");
    expect(planCounts(plan({ web1: [] })).text).toBe("0 changes on 0 hosts");
    expect(planCounts(plan({ web1: [step("file a", "update")] })).text).toBe("1 change on 1 host");
  });
});
