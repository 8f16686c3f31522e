// Rampart's alerting rules and an admin's changes to them (thresholds, durations, a rule
// turned off). The worker writes Prometheus's rules file from them (writeRulesFile) and
// reloads Prometheus when it changes; GET /monitoring/rules gives the same file to a
// Prometheus of the operator's own.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Db } from "../db";
import { ALERT_RULES, effectiveSetting, renderAlertRules, ruleDef, type RuleSetting } from "../monitoring/rules";
import type { AlertRuleDto } from "../schemas/monitoring";
import { ServiceError } from "./errors";
import { prometheusDir, replaceFile } from "./monitoring";

export const rulesFile = (dataDir: string) => path.join(prometheusDir(dataDir), "rules", "rampart.yml");

async function storedSettings(db: Db) {
  const rows = await db.alertRuleSetting.findMany();
  return new Map(rows.map((r) => [r.name, r]));
}

export async function listAlertRules(db: Db): Promise<AlertRuleDto[]> {
  const stored = await storedSettings(db);
  return ALERT_RULES.map((def) => {
    const row = stored.get(def.name);
    return {
      name: def.name,
      severity: def.severity,
      about: def.about,
      threshold: def.threshold ? { ...def.threshold, integer: def.threshold.integer ?? false } : null,
      defaultForS: def.defaultForS,
      value: effectiveSetting(def, row),
      updatedBy: row?.updatedBy ?? null,
      updatedAt: row?.updatedAt ?? null,
    };
  });
}

export async function updateAlertRule(db: Db, actor: string, input: { name: string; threshold?: number | null; forS: number; enabled: boolean }): Promise<AlertRuleDto> {
  const def = ruleDef(input.name);
  if (!def) throw new ServiceError("NOT_FOUND", `No alert rule named ${input.name} (the rules: ${ALERT_RULES.map((r) => r.name).join(", ")})`, "name");
  let threshold: number | null = null;
  if (def.threshold) {
    const t = def.threshold;
    if (input.threshold === undefined || input.threshold === null) throw new ServiceError("BAD_REQUEST", `${def.name} needs a threshold (${t.label.toLowerCase()}, in ${t.unit})`, "threshold");
    if (input.threshold < t.min || input.threshold > t.max) throw new ServiceError("BAD_REQUEST", `must be between ${t.min} and ${t.max} ${t.unit}`, "threshold");
    if (t.integer && !Number.isInteger(input.threshold)) throw new ServiceError("BAD_REQUEST", `must be a whole number of ${t.unit}`, "threshold");
    threshold = input.threshold;
  } else if (input.threshold !== undefined && input.threshold !== null) {
    throw new ServiceError("BAD_REQUEST", `${def.name} has no threshold: it fires when its target does not answer`, "threshold");
  }
  const data = { threshold, forS: input.forS, enabled: input.enabled, updatedBy: actor };
  await db.alertRuleSetting.upsert({ where: { name: def.name }, create: { name: def.name, ...data }, update: data });
  return (await listAlertRules(db)).find((r) => r.name === def.name)!;
}

/** The rules file with the settings in force. */
export async function alertRulesYaml(db: Db): Promise<string> {
  const stored = await storedSettings(db);
  return renderAlertRules(new Map<string, Partial<RuleSetting>>([...stored].map(([k, r]) => [k, r])));
}

/** Writes DATA_DIR/prometheus/rules/rampart.yml; says whether it changed (Prometheus then needs a reload). */
export async function writeRulesFile(db: Db, dataDir: string): Promise<boolean> {
  return replaceFile(rulesFile(dataDir), await alertRulesYaml(db), 0o644);
}

/**
 * The token an Alertmanager presents to deliver alerts to Rampart (npm start writes it for
 * the embedded one; with an Alertmanager of the operator's own, the worker does, for them
 * to copy next to the receiver GET /monitoring/rules gives).
 */
export function ensureAlertmanagerToken(dataDir: string): void {
  const file = path.join(prometheusDir(dataDir), "alertmanager-token");
  if (existsSync(file)) return;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600, flag: "wx" });
}
