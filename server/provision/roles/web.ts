// Web servers: nginx serves static files and proxies to the app (on loopback, or
// over verified TLS to app servers elsewhere), over TLS from the load balancers.
import type { AppUpstream } from "../render/nginx";
import { renderHostPage, renderNginxMetrics, renderNginxSite } from "../render/nginx";
import { resourceId } from "../resources";
import { NGINX_EXPORTER_DEFAULTS, NGINX_EXPORTER_PACKAGE, NGINX_EXPORTER_PORT, NGINX_METRICS_PORT, NGINX_METRICS_SITE, NGINX_STATUS_PORT, renderNginxExporterDefaults } from "./monitoring";
import type { Resource } from "../resources";
import {
  APP_TLS_NAME,
  APP_TLS_PORT,
  appTlsFront,
  CA_FILE,
  carriesAppFront,
  checked,
  dir,
  file,
  NGINX_CHECK,
  NGINX_DEFAULT_SITE,
  NGINX_SITE,
  nginxService,
  SERVER_CERT,
  SERVER_KEY,
  tlsFiles,
  WEB_ROOT,
  webPort,
} from "./common";
import type { HostSpec, InboundTraffic, PortClaim, RoleModule, TopologySpec } from "./types";

export const web: RoleModule = {
  role: "web",
  label: "Web",
  tier: "web",
  resources(t, h) {
    const apps = t.hosts.filter((x) => x.roles.includes("app"));
    const app: AppUpstream = h.roles.includes("app")
      ? { kind: "local", port: t.app.port, healthPath: t.app.healthPath }
      : apps.length > 0
        ? { kind: "remote", servers: apps.map((a) => ({ address: a.address, port: APP_TLS_PORT })), verifyName: APP_TLS_NAME }
        : { kind: "none" };
    const tls = tlsFiles(t, h, "web");
    const siteFile = checked(
      file("web", NGINX_SITE, renderNginxSite({ siteName: t.name, hostName: h.name, port: webPort(h), root: WEB_ROOT, tls: { cert: SERVER_CERT, key: SERVER_KEY, ca: CA_FILE }, app })),
      NGINX_CHECK,
    );
    // Debian's default site listens on :80, where a load balancer on the same host must bind.
    const defaultSite = file("web", NGINX_DEFAULT_SITE, null);
    const front = carriesAppFront(t, h) ? [appTlsFront(t, "web")] : [];
    // With monitoring: nginx serves stub_status (loopback) and a TLS front for the nginx exporter.
    const metrics = h.monitoring
      ? [
          checked(
            file(
              "web",
              NGINX_METRICS_SITE,
              renderNginxMetrics({
                siteName: t.name,
                address: h.address,
                statusPort: NGINX_STATUS_PORT,
                frontPort: NGINX_METRICS_PORT,
                exporterPort: NGINX_EXPORTER_PORT,
                tls: { cert: SERVER_CERT, key: SERVER_KEY, ca: CA_FILE },
              }),
            ),
            NGINX_CHECK,
          ),
        ]
      : [];
    const exporterDefaults = file("web", NGINX_EXPORTER_DEFAULTS, renderNginxExporterDefaults());
    const out: Resource[] = [
      { kind: "package", tier: "web", name: "nginx" },
      ...(h.monitoring ? [{ kind: "package" as const, tier: "web" as const, name: NGINX_EXPORTER_PACKAGE }] : []),
      ...tls,
      dir("web", WEB_ROOT),
      dir("web", `${WEB_ROOT}/static`),
      file("web", `${WEB_ROOT}/index.html`, renderHostPage({ siteName: t.name, hostName: h.name })),
      defaultSite,
      siteFile,
      ...front,
      ...metrics,
      nginxService("web", [...tls.filter((r) => r.kind === "file"), defaultSite, siteFile, ...front, ...metrics]),
      // After nginx (it reads nginx's stub_status when it starts); restarted, since its package starts it with Debian's defaults.
      ...(h.monitoring ? [exporterDefaults, { kind: "service" as const, tier: "web" as const, name: NGINX_EXPORTER_PACKAGE, reloadOn: [], restartOn: [resourceId(exporterDefaults)] }] : []),
    ];
    return out;
  },
  ports: (t, h) => webPorts(t, h),
  checks(t, h) {
    return [
      ...webPorts(t, h).map((claim) => ({ kind: "listening" as const, claim })),
      { kind: "running-config", unit: "nginx.service", logs: ["/var/log/nginx/error.log"] },
      { kind: "served-certificate", port: webPort(h), serverName: h.name },
      ...(h.monitoring ? [{ kind: "exporter" as const, port: NGINX_METRICS_PORT, name: "nginx", metric: "nginx_http_requests_total" }] : []),
    ];
  },
  certificates: (t, h) => [{ kind: "backend", names: [h.name, h.address] }],
  inbound: (t, h) => [
    ...(h.monitoring ? [metricsHop] : []),
    {
      port: webPort(h),
      from: { kind: "role", role: "load-balancer" },
      protection: "tls",
      label: "TLS (internal CA)",
      detail:
        "The load balancer re-encrypts to each web server (nginx on :443, or :8443 when it shares the load balancer's host) and verifies its certificate against Rampart's internal CA; the web server requires the load balancer's certificate from the same CA.",
      purpose: "proxied requests",
    },
  ],
};

function webPorts(t: TopologySpec, h: HostSpec): PortClaim[] {
  return [
    { port: webPort(h), unit: "nginx.service", scope: "any", purpose: `TLS from the load balancers for ${t.name}` },
    ...(carriesAppFront(t, h) ? [{ port: APP_TLS_PORT, unit: "nginx.service", scope: "any" as const, purpose: "the app's TLS front for web servers on other hosts" }] : []),
    ...(h.monitoring
      ? [
          { port: NGINX_STATUS_PORT, unit: "nginx.service", scope: "loopback" as const, purpose: "nginx's stub_status, for the nginx exporter on this host" },
          { port: NGINX_METRICS_PORT, unit: "nginx.service", scope: "any" as const, address: h.address, purpose: "the nginx exporter's metrics over TLS, for Rampart's collector" },
          { port: NGINX_EXPORTER_PORT, unit: `${NGINX_EXPORTER_PACKAGE}.service`, scope: "loopback" as const, purpose: "the nginx exporter, behind nginx's TLS front" },
        ]
      : []),
  ];
}

const metricsHop: InboundTraffic = {
  port: NGINX_METRICS_PORT,
  from: { kind: "control-plane" },
  protection: "tls",
  label: "TLS + client certificate",
  detail:
    "Rampart's collector (Prometheus) scrapes the nginx exporter through nginx on the web server's address, over TLS with its certificate from the internal CA; nginx requires a client certificate from the same CA. The exporter itself and nginx's stub_status listen on loopback only.",
  purpose: "metrics",
};
