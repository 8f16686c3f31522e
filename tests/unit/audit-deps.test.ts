// The dependency audit's policy (scripts/audit-deps.mjs), on a report in npm audit's
// JSON format (v2): high and critical fail unless allowed with a reason until a date;
// a package vulnerable only through another is counted once, at the source.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { advisoriesOf, judgeAudit } from "../../scripts/audit-deps.mjs";

const report = JSON.parse(readFileSync(new URL("../fixtures/npm-audit-report.json", import.meta.url), "utf8")) as unknown;
const now = new Date("2026-12-04T12:00:00Z");

describe("dependency audit policy", () => {
  it("lists each advisory once, where it is (not again for the packages that depend on it)", () => {
    expect(advisoriesOf(report).map((a) => `${a.package} ${a.severity} ${a.id}`)).toEqual([
      "cross-spawn high GHSA-3xgq-45jj-v275",
      "minimist critical GHSA-xvch-5gv4-984h",
      "semver moderate GHSA-c2qf-rxjj-qqgw",
    ]);
  });

  it("fails on high and critical, prints moderate and low", () => {
    const r = judgeAudit(report, [], now);
    expect(r.failing.map((a) => a.package)).toEqual(["cross-spawn", "minimist"]);
    expect(r.reported.map((a) => a.package)).toEqual(["semver"]);
  });

  it("an allowlisted advisory passes with its reason until its date, then fails again; a bad entry fails", () => {
    const allow = [{ id: "GHSA-3xgq-45jj-v275", reason: "only the build uses it, on trusted input", until: "2026-12-31" }];
    expect(judgeAudit(report, allow, now).failing.map((a) => a.package)).toEqual(["minimist"]);
    expect(judgeAudit(report, allow, now).allowed[0]).toMatchObject({ package: "cross-spawn", reason: allow[0]!.reason });
    expect(judgeAudit(report, allow, new Date("2027-01-01T00:00:00Z")).failing.map((a) => a.package)).toEqual(["cross-spawn", "minimist"]);
    expect(judgeAudit(report, [{ id: "GHSA-xvch-5gv4-984h", reason: "", until: "2027-01-01" }], now).problems[0]).toMatch(/needs an id, a reason and an "until" date/);
  });
});
