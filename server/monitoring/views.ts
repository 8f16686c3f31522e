// The derived views of a topology, as PromQL over the labels Rampart gives each
// scrape target (server, topology_id, exporter; see server/services/monitoring.ts).
// Pure: the queries only; the service runs them.

/** A PromQL string literal. */
export const promString = (s: string) => JSON.stringify(s);

export interface ViewQuery {
  id: string;
  title: string;
  unit: "req/s" | "ratio" | "load" | "seconds" | "days";
  query: string;
  /** The label whose value names each line ("" for a single line). */
  by: string;
  /** The roles whose servers the view is about (absent: every monitored server). */
  roles?: readonly string[];
  /** Only on a topology's page (the view is not about one server's exporters). */
  topologyOnly?: boolean;
}

/** rate() windows must hold at least a few scrapes (15 s apart by default). */
export const rateWindow = (stepS: number) => `${Math.max(60, stepS * 2)}s`;

/** A topology's views: every series of its servers. */
export const topologyViews = (topologyId: string, stepS: number, topologyName = ""): ViewQuery[] => views(`topology_id=${promString(topologyId)}`, stepS, topologyName);

/**
 * One server's views (its page): those about its own exporters, for its roles; a load
 * balancer's include the backends as it sees them.
 */
export const serverViews = (serverId: string, roles: readonly string[], stepS: number): ViewQuery[] =>
  views(`server_id=${promString(serverId)}`, stepS, "").filter((v) => !v.topologyOnly && (!v.roles || v.roles.some((r) => roles.includes(r))));

function views(t: string, stepS: number, topologyName: string): ViewQuery[] {
  const w = rateWindow(stepS);
  return [
    {
      id: "lb-qps",
      title: "Requests per second at the load balancers",
      unit: "req/s",
      query: `sum by (server) (rate(haproxy_frontend_http_requests_total{${t},proxy="https"}[${w}]))`,
      by: "server",
      roles: ["load-balancer"],
    },
    {
      id: "web-qps",
      title: "Requests per second per web server",
      unit: "req/s",
      query: `sum by (server) (rate(nginx_http_requests_total{${t}}[${w}]))`,
      by: "server",
      roles: ["web"],
    },
    {
      id: "backend-qps",
      title: "Requests per second per backend (as the load balancers send them)",
      unit: "req/s",
      // HAProxy's own "server" label (the backend) is kept as "exported_server": "server" is the load balancer's.
      query: `sum by (exported_server) (rate(haproxy_server_http_responses_total{${t},proxy="web"}[${w}]))`,
      by: "exported_server",
      roles: ["load-balancer"],
    },
    {
      id: "errors",
      title: "4xx and 5xx responses per second at the load balancers",
      unit: "req/s",
      query: `sum by (code) (rate(haproxy_frontend_http_responses_total{${t},proxy="https",code=~"4xx|5xx"}[${w}]))`,
      by: "code",
      roles: ["load-balancer"],
    },
    {
      id: "latency",
      title: "Response time per backend (HAProxy's average over its last 1024 requests)",
      unit: "seconds",
      query: `max by (exported_server) (haproxy_server_response_time_average_seconds{${t},proxy="web"})`,
      by: "exported_server",
      roles: ["load-balancer"],
    },
    {
      id: "cpu",
      title: "CPU busy",
      unit: "ratio",
      query: `1 - avg by (server) (rate(node_cpu_seconds_total{${t},mode="idle"}[${w}]))`,
      by: "server",
    },
    {
      id: "memory",
      title: "Memory in use",
      unit: "ratio",
      query: `1 - node_memory_MemAvailable_bytes{${t}} / node_memory_MemTotal_bytes{${t}}`,
      by: "server",
    },
    {
      id: "disk",
      title: "Root file system in use",
      unit: "ratio",
      query: `1 - node_filesystem_avail_bytes{${t},mountpoint="/"} / node_filesystem_size_bytes{${t},mountpoint="/"}`,
      by: "server",
    },
    { id: "load", title: "Load average (1 min)", unit: "load", query: `node_load1{${t}}`, by: "server" },
    {
      // The mysqld exporter on each replica: SHOW SLAVE STATUS's Seconds_Behind_Master.
      id: "replica-lag",
      title: "Replica lag",
      unit: "seconds",
      query: `max by (server) (mysql_slave_status_seconds_behind_master{${t}})`,
      by: "server",
      roles: ["db-primary", "db-replica"],
    },
    {
      // From Rampart's own /metrics (the certificates it deployed for this site and its servers).
      id: "certificates",
      title: "Site certificate: days left",
      unit: "days",
      query: `min by (purpose) (rampart_certificate_expires_in_seconds{topology=${promString(topologyName)}}) / 86400`,
      by: "purpose",
      topologyOnly: true,
    },
  ];
}

/** Each scrape target's health: `up` per server and exporter (of a topology, or of one server). */
export const upQuery = (topologyId: string, serverId?: string) => `up{job="servers",topology_id=${promString(topologyId)}${serverId ? `,server_id=${promString(serverId)}` : ""}}`;

/**
 * The scrape job for a Prometheus of the operator's own: targets from Rampart's HTTP
 * service discovery (an API token with read access), scraped over TLS with Rampart's
 * collector certificate (its files copied from the worker's DATA_DIR/prometheus/tls).
 */
export function externalScrapeConfig(o: { sdUrl: string; tokenFile: string; ca: string; cert: string; key: string }): string {
  const q = (s: string) => JSON.stringify(s);
  return [
    "scrape_configs:",
    "  - job_name: servers",
    "    scheme: https",
    "    tls_config:",
    `      ca_file: ${q(o.ca)}`,
    `      cert_file: ${q(o.cert)}`,
    `      key_file: ${q(o.key)}`,
    "    http_sd_configs:",
    `      - url: ${q(o.sdUrl)}`,
    "        refresh_interval: 30s",
    "        authorization:",
    `          credentials_file: ${q(o.tokenFile)}`,
    "    relabel_configs:",
    "      - source_labels: [server]",
    "        target_label: instance",
    "",
  ].join("\n");
}
