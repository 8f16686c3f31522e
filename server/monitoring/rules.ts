// Rampart's alerting rules, as Prometheus alerting rules (DATA_DIR/prometheus/rules/rampart.yml,
// written by the worker; GET /api/v1/monitoring/rules for a Prometheus of the operator's own).
// Each rule has a default threshold (where it has one) and a duration; an admin may change
// them or turn a rule off (AlertRuleSetting). Pure: the definitions and the rendering.
// Every alert carries a severity, a one-line summary and a description with what to check.

export interface RuleSetting {
  /** null for a rule without a threshold (a target down, replication stopped). */
  threshold: number | null;
  /** How long the condition must hold before the alert fires, in seconds. */
  forS: number;
  enabled: boolean;
}

export interface RuleDef {
  name: string;
  severity: "critical" | "warning";
  /** What the rule watches, for the console. */
  about: string;
  /** The threshold, when the rule has one: how it reads, its unit and bounds. */
  threshold: { label: string; unit: "%" | "s" | "days" | "failures"; default: number; min: number; max: number; integer?: boolean } | null;
  defaultForS: number;
  expr: (threshold: number) => string;
  summary: (threshold: number) => string;
  /** `forText`: the rule's duration in words ("a minute", "5 minutes"). */
  description: (threshold: number, forText: string) => string;
}

const num = (v: number) => String(Number(v.toFixed(6)));

export const ALERT_RULES: readonly RuleDef[] = [
  {
    name: "HostDown",
    severity: "critical",
    about: "A server's node exporter cannot be scraped.",
    threshold: null,
    defaultForS: 60,
    expr: () => 'up{job="servers",exporter="node"} == 0',
    summary: () => "{{ $labels.server }} does not answer",
    description: (_t, f) =>
      `Prometheus has not been able to scrape the node exporter of {{ $labels.server }} ({{ $labels.topology }}) for ${f}: the server, its exporter or the network to it is down. Check the server's console, then \`systemctl status prometheus-node-exporter\` on it.`,
  },
  {
    name: "WebServerDown",
    severity: "critical",
    about: "nginx on a web server does not answer (its exporter cannot be scraped).",
    threshold: null,
    // One failed scrape already leaves it at 0 for a scrape interval (15 s): waiting longer only delays the alert.
    defaultForS: 5,
    expr: () => 'up{job="servers",exporter="nginx"} == 0',
    summary: () => "nginx on {{ $labels.server }} does not answer",
    description: () =>
      "The nginx exporter behind nginx on {{ $labels.server }} ({{ $labels.topology }}) cannot be scraped: nginx is stopped or failing there. Check `systemctl status nginx` on it; the load balancer sends its requests to the other web servers meanwhile.",
  },
  {
    name: "High5xxRatio",
    severity: "warning",
    about: "The share of server errors in the load balancers' responses over 5 minutes.",
    threshold: { label: "5xx above", unit: "%", default: 5, min: 0.1, max: 100 },
    defaultForS: 120,
    expr: (t) =>
      `sum by (topology, topology_id) (rate(haproxy_frontend_http_responses_total{proxy="https",code="5xx"}[5m])) / sum by (topology, topology_id) (rate(haproxy_frontend_http_requests_total{proxy="https"}[5m])) > ${num(t / 100)}`,
    summary: (t) => `More than ${num(t)} % of {{ $labels.topology }}'s responses are 5xx`,
    description: () =>
      "{{ $value | humanizePercentage }} of the responses the load balancers gave in the last 5 minutes were server errors. Check the app's logs (`journalctl -u rampart-app`) and the web servers' error logs.",
  },
  {
    name: "ReplicationBroken",
    severity: "critical",
    about: "A database replica does not run both replication threads.",
    threshold: null,
    defaultForS: 60,
    expr: () => 'mysql_slave_status_slave_sql_running{job="servers"} == 0 or mysql_slave_status_slave_io_running{job="servers"} == 0',
    summary: () => "Replication on {{ $labels.server }} is stopped",
    description: (_t, f) =>
      `The database replica {{ $labels.server }} ({{ $labels.topology }}) has not run both replication threads for ${f}: it falls behind and cannot be promoted safely. See Databases for its last error (\`SHOW SLAVE STATUS\` on it); an apply starts stopped replication again.`,
  },
  {
    name: "ReplicaLagHigh",
    severity: "warning",
    about: "How far a database replica is behind its primary.",
    threshold: { label: "Lag above", unit: "s", default: 30, min: 1, max: 86_400, integer: true },
    defaultForS: 60,
    expr: (t) => `mysql_slave_status_seconds_behind_master{job="servers"} > ${num(t)}`,
    summary: (t) => `{{ $labels.server }} is more than ${num(t)} s behind its primary`,
    description: (_t, f) =>
      `The database replica {{ $labels.server }} ({{ $labels.topology }}) has been {{ $value }} s behind its primary for ${f}: reads from it are stale, and a promotion would be refused. Check its load and the network to the primary.`,
  },
  {
    name: "DiskAlmostFull",
    severity: "warning",
    about: "Free space on a server's root file system.",
    threshold: { label: "Free below", unit: "%", default: 10, min: 1, max: 99 },
    defaultForS: 300,
    expr: (t) => `node_filesystem_avail_bytes{job="servers",mountpoint="/"} / node_filesystem_size_bytes{job="servers",mountpoint="/"} < ${num(t / 100)}`,
    summary: () => "{{ $labels.server }}'s root file system is almost full",
    description: (t) =>
      `Less than ${num(t)} % of / is free on {{ $labels.server }} ({{ $value | humanizePercentage }}). Logs (\`journalctl --vacuum-size\`), old packages (\`apt-get clean\`) and the app's data are the usual suspects.`,
  },
  {
    name: "CertificateExpiring",
    severity: "warning",
    about: "Days left on a certificate Rampart deployed.",
    threshold: { label: "Days left below", unit: "days", default: 7, min: 1, max: 365, integer: true },
    defaultForS: 600,
    expr: (t) => `rampart_certificate_expires_in_seconds < ${num(t)} * 86400`,
    summary: (t) => `A {{ $labels.purpose }} certificate expires in less than ${num(t)} days`,
    description: () =>
      "The {{ $labels.purpose }} certificate for {{ $labels.names }} ({{ $labels.source }}) expires in {{ $value | humanizeDuration }}. Rampart renews internal and ACME certificates itself: if this fires, its renewal is failing (see Certificates); an uploaded one must be uploaded again.",
  },
  {
    name: "CertificateRenewalFailing",
    severity: "warning",
    about: "ACME renewals that failed in a row.",
    threshold: { label: "Failures from", unit: "failures", default: 2, min: 1, max: 100, integer: true },
    defaultForS: 0,
    expr: (t) => `rampart_acme_renewal_failures >= ${num(t)}`,
    summary: () => "ACME renewal for {{ $labels.topology }} failed {{ $value }} times in a row",
    description: () => "The ACME certificate authority refused or did not answer the last attempts. The current certificate keeps serving; see Certificates for the error and the next attempt.",
  },
];

/** How often Prometheus evaluates Rampart's rules. */
export const RULES_INTERVAL = "5s";

/** The longest a rule may wait before firing (a day). */
export const MAX_FOR_S = 86_400;

export const ruleDef = (name: string) => ALERT_RULES.find((r) => r.name === name);

/** A rule's setting: the stored one, or its defaults. */
export function effectiveSetting(def: RuleDef, stored?: Partial<RuleSetting> | null): RuleSetting {
  return {
    threshold: def.threshold ? (stored?.threshold ?? def.threshold.default) : null,
    forS: stored?.forS ?? def.defaultForS,
    enabled: stored?.enabled ?? true,
  };
}

/** Prometheus's duration syntax: 90 → "1m30s", 0 → "0s". */
export function promDuration(s: number): string {
  if (s <= 0) return "0s";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${sec ? `${sec}s` : ""}`;
}

/** A duration in words, for the descriptions: 60 → "a minute", 300 → "5 minutes", 5 → "5 s". */
export function durationWords(s: number): string {
  if (s <= 0) return "a moment";
  if (s % 3600 === 0) return s === 3600 ? "an hour" : `${s / 3600} hours`;
  if (s % 60 === 0) return s === 60 ? "a minute" : `${s / 60} minutes`;
  return `${s} s`;
}

/** The rules file: every enabled rule with its setting (defaults where none is stored). */
export function renderAlertRules(settings: ReadonlyMap<string, Partial<RuleSetting>> = new Map()): string {
  const q = (s: string) => JSON.stringify(s);
  // Evaluated every 5 s whatever the Prometheus's global interval (15 s by default): an alert
  // that waits for the next evaluation after the failing scrape loses up to an interval.
  const out = ["# Written by Rampart (the worker keeps it current; thresholds are set on the Monitoring page).", "groups:", "  - name: rampart", `    interval: ${RULES_INTERVAL}`, "    rules:"];
  let count = 0;
  for (const def of ALERT_RULES) {
    const s = effectiveSetting(def, settings.get(def.name));
    if (!s.enabled) continue;
    const t = s.threshold ?? 0;
    count++;
    out.push(
      `      - alert: ${def.name}`,
      `        expr: ${q(def.expr(t))}`,
      `        for: ${promDuration(s.forS)}`,
      "        labels:",
      `          severity: ${def.severity}`,
      "        annotations:",
      `          summary: ${q(def.summary(t))}`,
      `          description: ${q(def.description(t, durationWords(s.forS)))}`,
    );
  }
  // Prometheus refuses a group without rules.
  if (count === 0) return "# Written by Rampart: every rule is turned off.\ngroups: []\n";
  return `${out.join("\n")}\n`;
}
