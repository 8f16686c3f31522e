// Web servers: nginx serves static files and proxies to the app (on loopback, or
// over verified TLS to app servers elsewhere), over TLS from the load balancers.
import type { AppUpstream } from "../render/nginx";
import { renderHostPage, renderNginxSite } from "../render/nginx";
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
import type { RoleModule } from "./types";

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
    const out: Resource[] = [
      { kind: "package", tier: "web", name: "nginx" },
      ...tls,
      dir("web", WEB_ROOT),
      dir("web", `${WEB_ROOT}/static`),
      file("web", `${WEB_ROOT}/index.html`, renderHostPage({ siteName: t.name, hostName: h.name })),
      defaultSite,
      siteFile,
      ...front,
      nginxService("web", [...tls.filter((r) => r.kind === "file"), defaultSite, siteFile, ...front]),
    ];
    return out;
  },
  ports: (t, h) => [
    { port: webPort(h), unit: "nginx.service", scope: "any", purpose: `TLS from the load balancers for ${t.name}` },
    ...(carriesAppFront(t, h) ? [{ port: APP_TLS_PORT, unit: "nginx.service", scope: "any" as const, purpose: "the app's TLS front for web servers on other hosts" }] : []),
  ],
  checks(t, h) {
    return [
      ...this.ports(t, h).map((claim) => ({ kind: "listening" as const, claim })),
      { kind: "running-config", unit: "nginx.service", logs: ["/var/log/nginx/error.log"] },
      { kind: "served-certificate", port: webPort(h), serverName: h.name },
    ];
  },
  certificates: (t, h) => [{ kind: "backend", names: [h.name, h.address] }],
  inbound: (t, h) => [
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
