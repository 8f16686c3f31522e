// The dependency audit CI runs (npm test): npm's advisory database, production
// dependencies only. Policy: a high or critical advisory fails the build unless
// .audit-allow.json lists it (its GHSA id or advisory number) with a reason and a date
// after which it fails again; moderate and low ones are printed. Exits 0 (passed), 1
// (failed), or 3 when the advisory service could not be asked (then nothing was
// checked; 1 with AUDIT_REQUIRED=1). Plain JavaScript: judgeAudit is tested by vitest.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

const FAILING = new Set(["high", "critical"]);

/** The advisories in an `npm audit --json` report (v2), one per advisory and package. */
export function advisoriesOf(report) {
  const out = [];
  for (const v of Object.values(report?.vulnerabilities ?? {})) {
    for (const via of v.via ?? []) {
      // A string "via" is a dependency that is vulnerable through another: counted there.
      if (typeof via !== "object" || via === null) continue;
      const ghsa = /GHSA-[\w-]+/.exec(via.url ?? "")?.[0] ?? null;
      out.push({ package: via.name ?? v.name, severity: via.severity ?? v.severity, title: via.title ?? "", id: ghsa ?? String(via.source), range: via.range ?? "" });
    }
  }
  const seen = new Set();
  return out.filter((a) => (seen.has(`${a.id} ${a.package}`) ? false : seen.add(`${a.id} ${a.package}`)));
}

/** Applies the policy: { failing, allowed, reported, problems } (problems: allowlist entries that are malformed). */
export function judgeAudit(report, allow = [], now = new Date()) {
  const problems = [];
  const valid = [];
  for (const e of allow) {
    if (!e || typeof e.id !== "string" || typeof e.reason !== "string" || !e.reason.trim() || !/^\d{4}-\d{2}-\d{2}$/.test(e.until ?? ""))
      problems.push(`allowlist entry ${JSON.stringify(e)} needs an id, a reason and an "until" date (YYYY-MM-DD)`);
    else valid.push(e);
  }
  const allowedNow = (id) => valid.find((e) => e.id === id && new Date(`${e.until}T23:59:59Z`) >= now);
  const failing = [];
  const allowed = [];
  const reported = [];
  for (const a of advisoriesOf(report)) {
    if (!FAILING.has(a.severity)) reported.push(a);
    else if (allowedNow(a.id)) allowed.push({ ...a, reason: allowedNow(a.id).reason });
    else failing.push(a);
  }
  return { failing, allowed, reported, problems };
}

function main() {
  const allow = existsSync(".audit-allow.json") ? JSON.parse(readFileSync(".audit-allow.json", "utf8")) : [];
  let raw;
  try {
    raw = execFileSync("npm", ["audit", "--json", "--omit=dev"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 });
  } catch (e) {
    // npm audit exits non-zero when it finds something; its report is still on stdout.
    raw = e.stdout ?? "";
  }
  let report;
  try {
    report = JSON.parse(raw);
  } catch {
    report = null;
  }
  if (!report || report.error || !report.vulnerabilities) {
    const why = report?.error?.summary || report?.message || "no report";
    console.log(`dependency audit: the advisory service could not be asked (${String(why).split("\n")[0]}): nothing checked.`);
    process.exit(process.env.AUDIT_REQUIRED === "1" ? 1 : 3);
  }
  const { failing, allowed, reported, problems } = judgeAudit(report, allow);
  for (const a of reported) console.log(`  ${a.severity}: ${a.package} ${a.range} — ${a.title} (${a.id})`);
  for (const a of allowed) console.log(`  allowed ${a.severity}: ${a.package} — ${a.title} (${a.id}): ${a.reason}`);
  for (const a of failing) console.log(`  FAILS ${a.severity}: ${a.package} ${a.range} — ${a.title} (${a.id})`);
  for (const p of problems) console.log(`  ${p}`);
  console.log(`dependency audit: ${failing.length} failing (high or critical), ${allowed.length} allowed, ${reported.length} moderate or low`);
  process.exit(failing.length > 0 || problems.length > 0 ? 1 : 0);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
