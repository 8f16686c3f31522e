// Paths, ports and resource builders the role modules share.
import type { Resource, ServiceRes } from "../resources";
import { resourceId } from "../resources";
import { renderAppTlsFront } from "../render/nginx";
import type { HostSpec, TopologySpec } from "./types";

export const WEB_ROOT = "/var/www/rampart";
export const NGINX_SITE = "/etc/nginx/conf.d/rampart-site.conf";
export const NGINX_APP_FRONT = "/etc/nginx/conf.d/rampart-app-tls.conf";
export const NGINX_DEFAULT_SITE = "/etc/nginx/sites-enabled/default";
export const HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg";
export const TLS_DIR = "/etc/rampart/tls";
export const CA_FILE = `${TLS_DIR}/ca.pem`;
export const SERVER_CERT = `${TLS_DIR}/server.pem`;
export const SERVER_KEY = `${TLS_DIR}/server.key`;
export const SITE_BUNDLE = "/etc/haproxy/site.pem";
export const LB_CLIENT_BUNDLE = "/etc/haproxy/client.pem";
export const APP_DIR = "/opt/rampart-app";
export const SAMPLE_APP_FILE = `${APP_DIR}/sample/app.py`;
export const APP_UNIT = "/etc/systemd/system/rampart-app.service";
export const APP_ENV = "/etc/rampart/app.env";
export const APP_USER = "rampart-app";
/** The name every app server's certificate also carries, so web servers can verify any of them. */
export const APP_TLS_NAME = "rampart-app";
/** The app servers' TLS front, for web servers on other hosts. */
export const APP_TLS_PORT = 9443;
export const HEALTH_CHECK_INTERVAL_MS = 2000;

export const NGINX_CHECK = ["nginx", "-t", "-q"];
export const HAPROXY_CHECK = ["haproxy", "-c", "-q", "-f", HAPROXY_CONFIG];

/** Web servers listen on 443, or on 8443 when a load balancer shares the host (it has 443). */
export const webPort = (h: HostSpec) => (h.roles.includes("load-balancer") ? 8443 : 443);

/** A configuration file checked in place before it is kept (the previous one is put back if the check fails). */
export const checked = (r: Resource, check: string[]): Resource => (r.kind === "file" ? { ...r, check } : r);

export const file = (tier: Resource["tier"], path: string, content: string | null, mode = 0o644, secret = false): Resource => ({
  kind: "file",
  tier,
  path,
  content,
  mode,
  owner: "root",
  group: "root",
  ...(secret ? { secret: true } : {}),
});

export const dir = (tier: Resource["tier"], path: string): Resource => ({ kind: "directory", tier, path, mode: 0o755, owner: "root", group: "root" });

export function tlsFiles(t: TopologySpec, h: HostSpec, tier: Resource["tier"]): Resource[] {
  const mine = t.tls.backends.get(h.serverId);
  if (!mine) throw new Error(`no certificate from the internal CA for ${h.name}`);
  return [dir(tier, "/etc/rampart"), dir(tier, TLS_DIR), file(tier, CA_FILE, t.tls.caPem), file(tier, SERVER_CERT, mine.certPem), file(tier, SERVER_KEY, mine.keyPem, 0o600, true)];
}

/** Do web servers on other hosts reach the app over TLS (through nginx on the app servers)? */
export const remoteAppNeeded = (t: TopologySpec) => t.hosts.some((h) => h.roles.includes("web") && !h.roles.includes("app")) && t.hosts.some((h) => h.roles.includes("app"));

/** Does this host carry the app's TLS front (an app server that web servers elsewhere reach)? */
export const carriesAppFront = (t: TopologySpec, h: HostSpec) => h.roles.includes("app") && remoteAppNeeded(t);

export function nginxService(tier: Resource["tier"], files: Resource[]): ServiceRes {
  return { kind: "service", tier, name: "nginx", reloadOn: files.map(resourceId), restartOn: [], check: NGINX_CHECK };
}

export const appTlsFront = (t: TopologySpec, tier: Resource["tier"]) =>
  checked(file(tier, NGINX_APP_FRONT, renderAppTlsFront({ siteName: t.name, port: APP_TLS_PORT, appPort: t.app.port, tls: { cert: SERVER_CERT, key: SERVER_KEY, ca: CA_FILE } })), NGINX_CHECK);
