"use client";
// Rampart's alerting rules: each one's threshold, how long its condition must hold, and
// whether it is on. Admins change them here (saved per rule, with an explicit button);
// the worker writes Prometheus's rules file and reloads it within 10 s. Others read.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { AlertRuleDto } from "@/server/schemas/monitoring";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Badge } from "../ui/badge";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { TableScroll } from "../ui/table-scroll";

const input = "w-24 rounded-md border border-slate-300 bg-white px-2 py-1 text-sm disabled:bg-slate-50 disabled:text-slate-600";

function RuleRow({ rule, canEdit }: { rule: AlertRuleDto; canEdit: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [threshold, setThreshold] = useState(rule.value.threshold === null ? "" : String(rule.value.threshold));
  const [forS, setForS] = useState(String(rule.value.forS));
  const [enabled, setEnabled] = useState(rule.value.enabled);
  const save = useMutation(trpc.monitoring.updateAlertRule.mutationOptions({ onSuccess: () => qc.invalidateQueries({ queryKey: trpc.monitoring.alertRules.queryKey() }) }));
  const dirty = threshold !== (rule.value.threshold === null ? "" : String(rule.value.threshold)) || forS !== String(rule.value.forS) || enabled !== rule.value.enabled;
  const fieldErrors = (save.error?.data as { fieldErrors?: Record<string, string[]> | null } | undefined)?.fieldErrors ?? {};
  const field = Object.keys(fieldErrors)[0];
  const t = rule.threshold;
  return (
    <tr className="border-t border-slate-100 align-top" data-testid="alert-rule" data-rule={rule.name}>
      <td className="px-4 py-2">
        <div className="font-medium text-slate-900">{rule.name}</div>
        <div className="text-xs text-slate-500">{rule.about}</div>
      </td>
      <td className="px-4 py-2">
        <Badge tone={rule.severity === "critical" ? "danger" : "warning"}>{rule.severity}</Badge>
      </td>
      <td className="px-4 py-2">
        {t ? (
          <label className="text-xs text-slate-600">
            <span className="block">{t.label}</span>
            <input
              className={input}
              type="number"
              inputMode="decimal"
              min={t.min}
              max={t.max}
              step={t.integer ? 1 : "any"}
              value={threshold}
              disabled={!canEdit}
              aria-invalid={field === "threshold" || undefined}
              aria-label={`${rule.name}: ${t.label} (${t.unit})`}
              onChange={(e) => setThreshold(e.target.value)}
            />{" "}
            {t.unit}
          </label>
        ) : (
          <span className="text-xs text-slate-500">—</span>
        )}
      </td>
      <td className="px-4 py-2">
        <label className="text-xs text-slate-600">
          <span className="block">For</span>
          <input
            className={input}
            type="number"
            min={0}
            max={86400}
            step={1}
            value={forS}
            disabled={!canEdit}
            aria-invalid={field === "forS" || undefined}
            aria-label={`${rule.name}: for (seconds)`}
            onChange={(e) => setForS(e.target.value)}
          />{" "}
          s
        </label>
      </td>
      <td className="px-4 py-2">
        <label className="inline-flex items-center gap-1.5 text-sm">
          <input type="checkbox" checked={enabled} disabled={!canEdit} onChange={(e) => setEnabled(e.target.checked)} aria-label={`${rule.name}: on`} />
          {enabled ? "on" : "off"}
        </label>
      </td>
      <td className="px-4 py-2 text-xs text-slate-500">
        {canEdit && (
          <Button
            variant="secondary"
            disabled={!dirty || save.isPending}
            onClick={() => save.mutate({ name: rule.name, threshold: t ? (threshold.trim() === "" ? null : Number(threshold)) : null, forS: Number(forS), enabled }, { onSuccess: () => save.reset() })}
          >
            Save
          </Button>
        )}
        {save.error && (
          <p role="alert" className="mt-1 max-w-56 text-rose-700">
            {field ? `${field === "forS" ? "For" : field === "threshold" ? "Threshold" : field}: ${fieldErrors[field]?.[0] ?? save.error.message}` : save.error.message}
          </p>
        )}
        {!save.error && (rule.updatedBy ? <p className="mt-1">changed by {rule.updatedBy}</p> : <p className="mt-1">defaults</p>)}
      </td>
    </tr>
  );
}

export function AlertRules() {
  const trpc = useTRPC();
  const canEdit = useCan("admin");
  const rules = useQuery(trpc.monitoring.alertRules.queryOptions());
  return (
    <Card>
      <CardHeader
        title="Alert rules"
        description={
          canEdit
            ? "Prometheus evaluates these every 5 s; a change is in force within 10 s. Alerts go to Rampart (above) and to the webhooks in ALERT_WEBHOOK_URLS."
            : "Prometheus evaluates these every 5 s. Only admins can change them."
        }
      />
      {rules.error ? (
        <p role="alert" className="px-4 py-2 text-sm text-rose-700">
          {rules.error.message}
        </p>
      ) : !rules.data ? (
        <p className="px-4 py-2 text-sm text-slate-500">Loading…</p>
      ) : (
        <TableScroll>
          <table className="w-full text-sm">
            <thead className="text-left text-xs text-slate-500">
              <tr>
                <th className="px-4 py-2 font-medium">Rule</th>
                <th className="px-4 py-2 font-medium">Severity</th>
                <th className="px-4 py-2 font-medium">Threshold</th>
                <th className="px-4 py-2 font-medium">Condition holds</th>
                <th className="px-4 py-2 font-medium">State</th>
                <th className="px-4 py-2 font-medium">
                  <span className="sr-only">Save</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rules.data.map((r) => (
                <RuleRow key={`${r.name}-${r.updatedAt?.getTime() ?? 0}`} rule={r} canEdit={canEdit} />
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
    </Card>
  );
}
