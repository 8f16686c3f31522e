// The monitoring client on every server (unless turned off): Prometheus's node
// exporter from Debian, on the server's own address, over TLS with a certificate
// from the internal CA, answering only clients that present a certificate from
// the same CA (Rampart's collector). The firewall opens its port to the control
// plane only. Role-specific exporters (nginx, HAProxy, MariaDB) join it here.
import type { Resource } from "../resources";
import { resourceId } from "../resources";
import { CA_FILE, dir, file, TLS_DIR } from "./common";
import type { RoleModule } from "./types";

export const NODE_EXPORTER_PORT = 9100;
/** HAProxy's built-in exporter on load balancers (a frontend of HAProxy itself). */
export const HAPROXY_EXPORTER_PORT = 8405;

/** nginx on web servers: stub_status on loopback, the nginx exporter on loopback, and nginx's TLS front for it on the server's address. */
export const NGINX_STATUS_PORT = 8081;
export const NGINX_EXPORTER_PORT = 9113;
export const NGINX_METRICS_PORT = 9114;
export const NGINX_EXPORTER_PACKAGE = "prometheus-nginx-exporter";
export const NGINX_EXPORTER_DEFAULTS = "/etc/default/prometheus-nginx-exporter";
export const NGINX_METRICS_SITE = "/etc/nginx/conf.d/rampart-metrics.conf";

/** MariaDB on database servers: Debian's mysqld exporter on the server's address, logging in as rampart_monitor over the socket. */
export const MYSQLD_EXPORTER_PORT = 9104;
export const MYSQLD_EXPORTER_PACKAGE = "prometheus-mysqld-exporter";
export const MYSQLD_EXPORTER_DEFAULTS = "/etc/default/prometheus-mysqld-exporter";
export const MYSQLD_EXPORTER_CNF = "/etc/prometheus/rampart-mysqld-exporter.cnf";

/** The exporters a server runs (what Prometheus scrapes there), by what the server is. */
export function exportersOf(h: { roles: readonly string[]; monitoring: boolean }): Array<{ name: "node" | "haproxy" | "nginx" | "mysqld"; port: number; metric: string }> {
  if (!h.monitoring) return [];
  return [
    { name: "node", port: NODE_EXPORTER_PORT, metric: "node_cpu_seconds_total" },
    ...(h.roles.includes("load-balancer") ? [{ name: "haproxy" as const, port: HAPROXY_EXPORTER_PORT, metric: "haproxy_frontend_http_requests_total" }] : []),
    ...(h.roles.includes("web") ? [{ name: "nginx" as const, port: NGINX_METRICS_PORT, metric: "nginx_http_requests_total" }] : []),
    // mysql_up exists even when the exporter cannot log in: uptime only when it can.
    ...(h.roles.includes("db-primary") || h.roles.includes("db-replica") ? [{ name: "mysqld" as const, port: MYSQLD_EXPORTER_PORT, metric: "mysql_global_status_uptime" }] : []),
  ];
}

export function renderMysqldExporterDefaults(address: string): string {
  const listen = address.includes(":") ? `[${address}]:${MYSQLD_EXPORTER_PORT}` : `${address}:${MYSQLD_EXPORTER_PORT}`;
  return [
    "# Managed by Rampart: the mysqld exporter listens on this server's address only, over TLS (see the web configuration), and logs in as rampart_monitor.",
    `ARGS=${shellWord(`--web.listen-address=${listen} --web.config.file=${EXPORTER_WEB_CONFIG} --config.my-cnf=${MYSQLD_EXPORTER_CNF} --collect.slave_status`)}`,
    "",
  ].join("\n");
}

/** The exporter's client settings: the read-only monitoring account, over MariaDB's socket. */
export function renderMysqldExporterCnf(user: string, password: string): string {
  return [
    "# Managed by Rampart: the mysqld exporter's read-only account (over the local socket).",
    "[client]",
    `user = ${user}`,
    `password = ${password}`,
    "socket = /run/mysqld/mysqld.sock",
    "",
  ].join("\n");
}

export function renderNginxExporterDefaults(): string {
  return [
    "# Managed by Rampart: the nginx exporter reads nginx's stub_status on loopback and listens on loopback (nginx serves its metrics over TLS).",
    `ARGS='-nginx.scrape-uri=http://127.0.0.1:${NGINX_STATUS_PORT}/stub_status -web.listen-address=127.0.0.1:${NGINX_EXPORTER_PORT} -nginx.retries=10 -nginx.retry-interval=2s'`,
    "",
  ].join("\n");
}
export const NODE_EXPORTER_PACKAGE = "prometheus-node-exporter";
export const NODE_EXPORTER_UNIT = "prometheus-node-exporter";
/** Debian's unit reads its arguments from here ($ARGS). */
export const NODE_EXPORTER_DEFAULTS = "/etc/default/prometheus-node-exporter";
export const EXPORTER_WEB_CONFIG = "/etc/prometheus/rampart-exporter-web.yml";
/** The exporter runs as Debian's "prometheus" user: its own copy of the host's certificate and key, readable by that group. */
export const EXPORTER_CERT = `${TLS_DIR}/exporter.pem`;
export const EXPORTER_KEY = `${TLS_DIR}/exporter.key`;
export const EXPORTER_GROUP = "prometheus";

/** The exporter web configuration (Prometheus exporter-toolkit): TLS, and a client certificate from Rampart's CA required. */
export function renderExporterWebConfig(): string {
  return [
    "# Managed by Rampart: the exporter serves TLS and answers only clients with a certificate from Rampart's internal CA.",
    "tls_server_config:",
    `  cert_file: ${EXPORTER_CERT}`,
    `  key_file: ${EXPORTER_KEY}`,
    "  client_auth_type: RequireAndVerifyClientCert",
    `  client_ca_file: ${CA_FILE}`,
    "  min_version: TLS12",
    "",
  ].join("\n");
}

/** A shell-safe value: the address was validated when the server was added; quote it anyway for the defaults file. */
const shellWord = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The node exporter's default list of file system types it ignores, without "overlay": a
 * server in a container (LXC, systemd-nspawn, some VPS) has its root file system on overlay,
 * and its free space is what the disk view and alert are about.
 */
const FS_TYPES_EXCLUDE =
  "^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|sysfs|tracefs)$";

export function renderNodeExporterDefaults(address: string): string {
  const listen = address.includes(":") ? `[${address}]:${NODE_EXPORTER_PORT}` : `${address}:${NODE_EXPORTER_PORT}`;
  return [
    "# Managed by Rampart: the node exporter listens on this server's address only, over TLS (see the web configuration).",
    `ARGS=${shellWord(`--web.listen-address=${listen} --web.config.file=${EXPORTER_WEB_CONFIG} --collector.filesystem.fs-types-exclude=${FS_TYPES_EXCLUDE}`)}`,
    "",
  ].join("\n");
}

export const monitoring: RoleModule = {
  role: "monitoring",
  label: "Monitoring",
  tier: "base",
  resources(t, h) {
    const mine = t.tls.backends.get(h.serverId);
    if (!mine) throw new Error(`no certificate from the internal CA for ${h.name}`);
    const owned = (path: string, content: string, mode: number, secret = false): Resource => ({ ...file("base", path, content, mode, secret), group: EXPORTER_GROUP }) as Resource;
    const watched: Resource[] = [
      file("base", CA_FILE, t.tls.caPem),
      owned(EXPORTER_CERT, mine.certPem, 0o644),
      owned(EXPORTER_KEY, mine.keyPem, 0o640, true),
      file("base", EXPORTER_WEB_CONFIG, renderExporterWebConfig()),
      file("base", NODE_EXPORTER_DEFAULTS, renderNodeExporterDefaults(h.address)),
    ];
    return [
      // The package first: it creates the "prometheus" user and group the key is readable by.
      { kind: "package", tier: "base", name: NODE_EXPORTER_PACKAGE },
      dir("base", "/etc/rampart"),
      dir("base", TLS_DIR),
      dir("base", "/etc/prometheus"),
      ...watched,
      // Its package starts it with Debian's defaults (every address, no TLS): restarted, never only started.
      { kind: "service", tier: "base", name: NODE_EXPORTER_UNIT, reloadOn: [], restartOn: watched.filter((r) => r.kind === "file" && r.path !== CA_FILE).map(resourceId) },
    ];
  },
  ports: (t, h) => [{ port: NODE_EXPORTER_PORT, unit: `${NODE_EXPORTER_UNIT}.service`, scope: "any", address: h.address, purpose: "the node exporter, for Rampart's collector" }],
  checks(t, h) {
    return [
      ...this.ports(t, h).map((claim) => ({ kind: "listening" as const, claim })),
      { kind: "running-config" as const, unit: `${NODE_EXPORTER_UNIT}.service` },
      { kind: "exporter" as const, port: NODE_EXPORTER_PORT, name: "node", metric: "node_cpu_seconds_total" },
    ];
  },
  certificates: (t, h) => [{ kind: "backend", names: [h.name, h.address] }],
  inbound: () => [
    {
      port: NODE_EXPORTER_PORT,
      from: { kind: "control-plane" },
      protection: "tls",
      label: "TLS + client certificate",
      detail:
        "Rampart's collector (Prometheus) scrapes the node exporter over TLS, verifying the server's certificate from the internal CA; the exporter answers only a client certificate from the same CA. The firewall opens the port to the control plane only.",
      purpose: "metrics",
    },
  ],
};
