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
 * @param {{ dir: string, rampartTarget?: string | null, alertmanager?: string | null, scrapeInterval?: string }} o
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
