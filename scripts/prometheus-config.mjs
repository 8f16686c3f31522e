// The embedded Prometheus's configuration (scripts/supervise.mjs writes it at each
// start; the lab tests start Prometheus with the same one). Everything it reads is in
// one directory, DATA_DIR/prometheus:
//   metrics-token       — the token Prometheus presents to Rampart's /metrics;
//   targets/*.json      — the servers' exporters (file-based service discovery, written by the worker);
//   tls/                — the internal CA and Rampart's collector certificate (written by the worker):
//                         the exporters serve TLS and require that client certificate;
//   rules/*.yml         — alerting rules.
import path from "node:path";

/**
 * @param {{ dir: string, rampartTarget?: string | null, alertmanager?: string | null, scrapeInterval?: string, evaluationInterval?: string }} o
 * @returns {string}
 */
export function prometheusConfig(o) {
  const q = (s) => JSON.stringify(s);
  const tls = path.join(o.dir, "tls");
  const lines = ["# Written by Rampart at each start.", "global:", `  scrape_interval: ${o.scrapeInterval ?? "15s"}`, `  evaluation_interval: ${o.scrapeInterval ?? "15s"}`];
  if (o.alertmanager) lines.push("alerting:", "  alertmanagers:", "    - static_configs:", `        - targets: [${q(o.alertmanager)}]`);
  lines.push("rule_files:", `  - ${q(path.join(o.dir, "rules", "*.yml"))}`, "scrape_configs:");
  if (o.rampartTarget)
    lines.push(
      "  - job_name: rampart",
      "    metrics_path: /metrics",
      "    authorization:",
      `      credentials_file: ${q(path.join(o.dir, "metrics-token"))}`,
      "    static_configs:",
      `      - targets: [${q(o.rampartTarget)}]`,
    );
  lines.push(
    "  - job_name: servers",
    "    scheme: https",
    "    tls_config:",
    `      ca_file: ${q(path.join(tls, "ca.pem"))}`,
    `      cert_file: ${q(path.join(tls, "collector.pem"))}`,
    `      key_file: ${q(path.join(tls, "collector.key"))}`,
    "    file_sd_configs:",
    `      - files: [${q(path.join(o.dir, "targets", "*.json"))}]`,
    "    relabel_configs:",
    "      # The server's name is the instance people read.",
    "      - source_labels: [server]",
    "        target_label: instance",
    "",
  );
  return lines.join("\n");
}

/**
 * The default alerting rules (DATA_DIR/prometheus/rules/rampart.yml). Every alert carries
 * a severity, a one-line summary and a description with what to check. Replica lag comes
 * with the database roles.
 * @returns {string}
 */
export function alertRules() {
  const rule = (name, expr, forDuration, severity, summary, description) =>
    [
      `      - alert: ${name}`,
      `        expr: ${JSON.stringify(expr)}`,
      `        for: ${forDuration}`,
      "        labels:",
      `          severity: ${severity}`,
      "        annotations:",
      `          summary: ${JSON.stringify(summary)}`,
      `          description: ${JSON.stringify(description)}`,
    ].join("\n");
  return [
    "# Written by Rampart at each start.",
    "groups:",
    "  - name: rampart",
    "    rules:",
    rule(
      "HostDown",
      'up{job="servers",exporter="node"} == 0',
      "1m",
      "critical",
      "{{ $labels.server }} does not answer",
      "Prometheus has not been able to scrape the node exporter of {{ $labels.server }} ({{ $labels.topology }}) for a minute: the server, its exporter or the network to it is down. Check the server's console, then `systemctl status prometheus-node-exporter` on it.",
    ),
    rule(
      "WebServerDown",
      'up{job="servers",exporter="nginx"} == 0',
      // One failed scrape already leaves it at 0 for a scrape interval (15 s): waiting longer only delays the alert.
      "5s",
      "critical",
      "nginx on {{ $labels.server }} does not answer",
      "The nginx exporter behind nginx on {{ $labels.server }} ({{ $labels.topology }}) cannot be scraped: nginx is stopped or failing there. Check `systemctl status nginx` on it; the load balancer sends its requests to the other web servers meanwhile.",
    ),
    rule(
      "High5xxRatio",
      'sum by (topology, topology_id) (rate(haproxy_frontend_http_responses_total{proxy="https",code="5xx"}[5m])) / sum by (topology, topology_id) (rate(haproxy_frontend_http_requests_total{proxy="https"}[5m])) > 0.05',
      "2m",
      "warning",
      "More than 5 % of {{ $labels.topology }}'s responses are 5xx",
      "{{ $value | humanizePercentage }} of the responses the load balancers gave in the last 5 minutes were server errors. Check the app's logs (`journalctl -u rampart-app`) and the web servers' error logs.",
    ),
    rule(
      "ReplicationBroken",
      'mysql_slave_status_slave_sql_running{job="servers"} == 0 or mysql_slave_status_slave_io_running{job="servers"} == 0',
      "1m",
      "critical",
      "Replication on {{ $labels.server }} is stopped",
      "The database replica {{ $labels.server }} ({{ $labels.topology }}) has not run both replication threads for a minute: it falls behind and cannot be promoted safely. See Databases for its last error (`SHOW SLAVE STATUS` on it); an apply starts stopped replication again.",
    ),
    rule(
      "ReplicaLagHigh",
      'mysql_slave_status_seconds_behind_master{job="servers"} > 30',
      "1m",
      "warning",
      "{{ $labels.server }} is more than 30 s behind its primary",
      "The database replica {{ $labels.server }} ({{ $labels.topology }}) has been {{ $value }} s behind its primary for a minute: reads from it are stale, and a promotion would be refused. Check its load and the network to the primary.",
    ),
    rule(
      "DiskAlmostFull",
      'node_filesystem_avail_bytes{job="servers",mountpoint="/"} / node_filesystem_size_bytes{job="servers",mountpoint="/"} < 0.10',
      "5m",
      "warning",
      "{{ $labels.server }}'s root file system is almost full",
      "Less than 10 % of / is free on {{ $labels.server }} ({{ $value | humanizePercentage }}). Logs (`journalctl --vacuum-size`), old packages (`apt-get clean`) and the app's data are the usual suspects.",
    ),
    rule(
      "CertificateExpiring",
      "rampart_certificate_expires_in_seconds < 7 * 86400",
      "10m",
      "warning",
      "A {{ $labels.purpose }} certificate expires in less than 7 days",
      "The {{ $labels.purpose }} certificate for {{ $labels.names }} ({{ $labels.source }}) expires in {{ $value | humanizeDuration }}. Rampart renews internal and ACME certificates itself: if this fires, its renewal is failing (see Certificates); an uploaded one must be uploaded again.",
    ),
    rule(
      "CertificateRenewalFailing",
      "rampart_acme_renewal_failures >= 2",
      "0s",
      "warning",
      "ACME renewal for {{ $labels.topology }} failed {{ $value }} times in a row",
      "The ACME certificate authority refused or did not answer the last attempts. The current certificate keeps serving; see Certificates for the error and the next attempt.",
    ),
    "",
  ].join("\n");
}

/**
 * The embedded Alertmanager's configuration: every alert to Rampart (with a token of its
 * own) and to the operator's webhooks, resolved ones too, quickly (group_wait 5 s).
 * @param {{ rampartUrl: string, tokenFile: string, webhooks?: string[] }} o
 * @returns {string}
 */
export function alertmanagerConfig(o) {
  const q = (s) => JSON.stringify(s);
  return [
    "# Written by Rampart at each start.",
    "route:",
    "  receiver: rampart",
    "  group_by: [alertname, topology, server]",
    "  group_wait: 5s",
    "  group_interval: 30s",
    "  repeat_interval: 4h",
    "receivers:",
    "  - name: rampart",
    "    webhook_configs:",
    `      - url: ${q(o.rampartUrl)}`,
    "        send_resolved: true",
    "        http_config:",
    "          authorization:",
    `            credentials_file: ${q(o.tokenFile)}`,
    ...(o.webhooks ?? []).flatMap((url) => [`      - url: ${q(url)}`, "        send_resolved: true"]),
    "",
  ].join("\n");
}
