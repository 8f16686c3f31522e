// The embedded Prometheus's configuration (scripts/supervise.mjs writes it at each
// start; the lab tests start Prometheus with the same one). Everything it reads is in
// one directory, DATA_DIR/prometheus:
//   metrics-token       — the token Prometheus presents to Rampart's /metrics;
//   targets/*.json      — the servers' exporters (file-based service discovery, written by the worker);
//   tls/                — the internal CA and Rampart's collector certificate (written by the worker):
//                         the exporters serve TLS and require that client certificate;
//   rules/*.yml         — alerting rules (written by the worker: server/monitoring/rules.ts).
import path from "node:path";

/**
 * @param {{ dir: string, rampartTarget?: string | null, alertmanager?: string | null, scrapeInterval?: string, evaluationInterval?: string }} o
 * @returns {string}
 */
export function prometheusConfig(o) {
  const q = (s) => JSON.stringify(s);
  const tls = path.join(o.dir, "tls");
  const lines = ["# Written by Rampart at each start.", "global:", `  scrape_interval: ${o.scrapeInterval ?? "15s"}`, `  evaluation_interval: ${o.evaluationInterval ?? o.scrapeInterval ?? "15s"}`];
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
