// The alerting rules, checked and run by Prometheus's own promtool: they load, and on
// given series each fires when it should (and not before), with its summary; an admin's
// threshold, duration or rule turned off is what Prometheus then runs.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { alertmanagerConfig } from "@/scripts/prometheus-config.mjs";
import { durationWords, promDuration, renderAlertRules } from "@/server/monitoring/rules";

const alertRules = () => renderAlertRules();

const annotations = (rules: string, name: string, labels: Record<string, string>) => {
  const block = rules.slice(rules.indexOf(`- alert: ${name}\n`)).split("      - alert:")[0]!;
  const fill = (s: string) => s.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, k: string) => labels[k] ?? "");
  return {
    summary: fill(JSON.parse(/summary: (".*")/.exec(block)![1]!) as string),
    description: fill(JSON.parse(/description: (".*")/.exec(block)![1]!) as string),
  };
};

/** A series' labels as PromQL writes them: job="servers",server="web1" */
const labelText = (l: Record<string, string>) =>
  Object.entries(l)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");

describe("alerting rules", () => {
  it("load in Prometheus, and the Alertmanager configuration in amtool", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-rules-"));
    writeFileSync(path.join(dir, "rampart.yml"), alertRules());
    const rules = spawnSync("promtool", ["check", "rules", path.join(dir, "rampart.yml")], { encoding: "utf8" });
    expect(rules.status, rules.stdout + rules.stderr).toBe(0);
    expect(rules.stdout).toContain("SUCCESS: 8 rules found");
    writeFileSync(path.join(dir, "token"), "x".repeat(48));
    writeFileSync(
      path.join(dir, "am.yml"),
      alertmanagerConfig({ rampartUrl: "http://127.0.0.1:3000/api/alertmanager", tokenFile: path.join(dir, "token"), webhooks: ["https://hooks.example.test/a"] }),
    );
    const am = spawnSync("amtool", ["check-config", path.join(dir, "am.yml")], { encoding: "utf8" });
    expect(am.status, am.stdout + am.stderr).toBe(0);
  });

  it("a web server whose nginx stops fires WebServerDown after 5 s; a host that stops answering fires HostDown after a minute", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-rules-"));
    const text = alertRules();
    writeFileSync(path.join(dir, "rampart.yml"), text);
    const web = { job: "servers", exporter: "nginx", server: "web1", topology: "www.shop.test" };
    const node = { ...web, exporter: "node" };
    const series = (l: Record<string, string>) => `up{${labelText(l)}}`;
    const expected = (name: string, l: Record<string, string>) => [{ exp_labels: { ...l, severity: "critical" }, exp_annotations: annotations(text, name, l) }];
    const test = {
      rule_files: ["rampart.yml"],
      evaluation_interval: "5s",
      tests: [
        {
          interval: "15s",
          // Scrapes every 15 s: up until 15 s, down from 30 s.
          input_series: [
            { series: series(web), values: "1 1 0 0 0 0 0 0 0" },
            { series: series(node), values: "1 1 0 0 0 0 0 0 0" },
          ],
          alert_rule_test: [
            { eval_time: "30s", alertname: "WebServerDown", exp_alerts: [] }, // pending
            { eval_time: "35s", alertname: "WebServerDown", exp_alerts: expected("WebServerDown", web) },
            { eval_time: "75s", alertname: "HostDown", exp_alerts: [] },
            { eval_time: "95s", alertname: "HostDown", exp_alerts: expected("HostDown", node) },
          ],
        },
      ],
    };
    writeFileSync(path.join(dir, "test.json"), JSON.stringify(test));
    // promtool reads YAML, and JSON is YAML.
    const r = spawnSync("promtool", ["test", "rules", path.join(dir, "test.json")], { encoding: "utf8", cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("SUCCESS");
  });

  it("a replica whose SQL thread stops fires ReplicationBroken after a minute; one more than 30 s behind for a minute fires ReplicaLagHigh", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-rules-"));
    const text = alertRules();
    writeFileSync(path.join(dir, "rampart.yml"), text);
    const l = { job: "servers", exporter: "mysqld", server: "db2", topology: "www.shop.test" };
    const labels = labelText(l);
    const test = {
      rule_files: ["rampart.yml"],
      evaluation_interval: "5s",
      tests: [
        {
          interval: "15s",
          input_series: [
            { series: `mysql_slave_status_slave_sql_running{${labels}}`, values: "1 1 0 0 0 0 0 0 0 0" },
            { series: `mysql_slave_status_slave_io_running{${labels}}`, values: "1 1 1 1 1 1 1 1 1 1" },
            { series: `mysql_slave_status_seconds_behind_master{${labels}}`, values: "0 0 10 40 45 50 55 60 65 70" },
          ],
          alert_rule_test: [
            { eval_time: "60s", alertname: "ReplicationBroken", exp_alerts: [] },
            { eval_time: "95s", alertname: "ReplicationBroken", exp_alerts: [{ exp_labels: { ...l, severity: "critical" }, exp_annotations: annotations(text, "ReplicationBroken", l) }] },
            { eval_time: "60s", alertname: "ReplicaLagHigh", exp_alerts: [] },
            {
              eval_time: "110s",
              alertname: "ReplicaLagHigh",
              exp_alerts: [
                {
                  exp_labels: { ...l, severity: "warning" },
                  exp_annotations: { summary: annotations(text, "ReplicaLagHigh", l).summary, description: annotations(text, "ReplicaLagHigh", l).description.replace("{{ $value }}", "60") },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(path.join(dir, "test.json"), JSON.stringify(test));
    const r = spawnSync("promtool", ["test", "rules", path.join(dir, "test.json")], { encoding: "utf8", cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("run an admin's threshold and duration, and leave out a rule turned off", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-rules-"));
    const text = renderAlertRules(
      new Map([
        ["DiskAlmostFull", { threshold: 20, forS: 30 }],
        ["ReplicaLagHigh", { enabled: false }],
      ]),
    );
    writeFileSync(path.join(dir, "rampart.yml"), text);
    const check = spawnSync("promtool", ["check", "rules", path.join(dir, "rampart.yml")], { encoding: "utf8" });
    expect(check.stdout).toContain("SUCCESS: 7 rules found");
    expect(text).not.toContain("ReplicaLagHigh");
    expect(text).toContain("Less than 20 % of / is free");
    const l = { job: "servers", exporter: "node", server: "web1", topology: "www.shop.test", mountpoint: "/" };
    const labels = labelText(l);
    const test = {
      rule_files: ["rampart.yml"],
      evaluation_interval: "5s",
      tests: [
        {
          interval: "15s",
          // 15 % free: under the admin's 20 %, over the default 10 %.
          input_series: [
            { series: `node_filesystem_avail_bytes{${labels}}`, values: "15 15 15 15 15 15" },
            { series: `node_filesystem_size_bytes{${labels}}`, values: "100 100 100 100 100 100" },
          ],
          alert_rule_test: [
            { eval_time: "25s", alertname: "DiskAlmostFull", exp_alerts: [] },
            {
              eval_time: "35s",
              alertname: "DiskAlmostFull",
              exp_alerts: [
                {
                  exp_labels: { ...l, severity: "warning" },
                  exp_annotations: { ...annotations(text, "DiskAlmostFull", l), description: annotations(text, "DiskAlmostFull", l).description.replace("{{ $value | humanizePercentage }}", "15%") },
                },
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(path.join(dir, "test.json"), JSON.stringify(test));
    const r = spawnSync("promtool", ["test", "rules", path.join(dir, "test.json")], { encoding: "utf8", cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // Every rule off: still a file Prometheus loads.
    const none = renderAlertRules(
      new Map(
        ["HostDown", "WebServerDown", "High5xxRatio", "ReplicationBroken", "ReplicaLagHigh", "DiskAlmostFull", "CertificateExpiring", "CertificateRenewalFailing"].map((n) => [n, { enabled: false }]),
      ),
    );
    writeFileSync(path.join(dir, "none.yml"), none);
    const empty = spawnSync("promtool", ["check", "rules", path.join(dir, "none.yml")], { encoding: "utf8" });
    expect(empty.status, empty.stdout + empty.stderr).toBe(0);
  });

  it("say durations the way Prometheus and people read them", () => {
    expect([0, 5, 60, 90, 300, 3600, 5400].map(promDuration)).toEqual(["0s", "5s", "1m", "1m30s", "5m", "1h", "1h30m"]);
    expect([5, 60, 300, 3600, 7200, 90].map(durationWords)).toEqual(["5 s", "a minute", "5 minutes", "an hour", "2 hours", "90 s"]);
  });
});
