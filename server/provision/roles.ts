// What each role puts on a server: the desired resources, in the order they
// apply on that host. Pure: a topology (with its TLS material) in, resources
// and notes out.
//
//   Internet ─HTTPS─▶ load balancer (HAProxy :443, site certificate)
//            ─TLS, both sides' certificates from Rampart's CA─▶ web servers (nginx :443)
//            ─loopback─▶ the app on the same host, or
//            ─TLS, verified─▶ app servers elsewhere (nginx TLS front :9443 → app on loopback)
import type { AppSpec, Role } from "../schemas/topology";
import type { Resource, ServiceRes } from "./resources";
import { resourceId } from "./resources";
import { renderAppTlsFront, renderHostPage, renderNginxSite, type AppUpstream } from "./render/nginx";
import { renderHaproxyConfig } from "./render/haproxy";
import { renderAppUnit, renderEnvFile, SAMPLE_APP } from "./render/app";

export interface TlsMaterial {
  /** The internal CA's certificate (public). */
  caPem: string;
  /** The site's certificate bundle for HAProxy: certificate, chain, then key. */
  siteBundle: string | null;
  /** Each web or app server's certificate and key, from the internal CA. */
  backends: Map<string, { certPem: string; keyPem: string }>;
}

export interface TopologySpec {
  id: string;
  name: string;
  balance: "roundrobin" | "leastconn";
  hosts: HostSpec[];
  app: AppSpec;
  /** The app's environment with secret values decrypted: only ever written to a secret file. */
  appEnv: Array<[string, string]>;
  /** The uploaded archive's bytes, when the app's source is "tarball". */
  appArchive?: Buffer | null;
  tls: TlsMaterial;
}

export interface HostSpec {
  serverId: string;
  name: string;
  address: string;
  roles: Role[];
  monitoring: boolean;
  drained: boolean;
}

export interface HostDesired {
  resources: Resource[];
  notes: string[];
}

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

/** Web servers listen on 443, or on 8443 when a load balancer shares the host (it has 443). */
export const webPort = (h: HostSpec) => (h.roles.includes("load-balancer") ? 8443 : 443);

/** The names a backend's certificate is issued for. */
export function backendNames(h: HostSpec): string[] {
  return [h.name, h.address, ...(h.roles.includes("app") ? [APP_TLS_NAME] : [])];
}

/** Does this host need a certificate from the internal CA? (The load balancer shows its own to the web servers.) */
export const needsBackendCert = (h: HostSpec) => h.roles.includes("web") || h.roles.includes("app") || h.roles.includes("load-balancer");

const NGINX_CHECK = ["nginx", "-t", "-q"];
const HAPROXY_CHECK = ["haproxy", "-c", "-q", "-f", HAPROXY_CONFIG];

/** A configuration file checked in place before it is kept (the previous one is put back if the check fails). */
const checked = (r: Resource, check: string[]): Resource => (r.kind === "file" ? { ...r, check } : r);

const file = (tier: Resource["tier"], path: string, content: string | null, mode = 0o644, secret = false): Resource => ({
  kind: "file",
  tier,
  path,
  content,
  mode,
  owner: "root",
  group: "root",
  ...(secret ? { secret: true } : {}),
});

function tlsFiles(t: TopologySpec, h: HostSpec, tier: Resource["tier"]): Resource[] {
  const mine = t.tls.backends.get(h.serverId);
  if (!mine) throw new Error(`no certificate from the internal CA for ${h.name}`);
  return [
    { kind: "directory", tier, path: "/etc/rampart", mode: 0o755, owner: "root", group: "root" },
    { kind: "directory", tier, path: TLS_DIR, mode: 0o755, owner: "root", group: "root" },
    file(tier, CA_FILE, t.tls.caPem),
    file(tier, SERVER_CERT, mine.certPem),
    file(tier, SERVER_KEY, mine.keyPem, 0o600, true),
  ];
}

const remoteAppNeeded = (t: TopologySpec) => t.hosts.some((h) => h.roles.includes("web") && !h.roles.includes("app")) && t.hosts.some((h) => h.roles.includes("app"));

function nginxService(tier: Resource["tier"], files: Resource[]): ServiceRes {
  return { kind: "service", tier, name: "nginx", reloadOn: files.map(resourceId), restartOn: [], check: NGINX_CHECK };
}

function webResources(t: TopologySpec, h: HostSpec): Resource[] {
  const apps = t.hosts.filter((x) => x.roles.includes("app"));
  const app: AppUpstream = h.roles.includes("app")
    ? { kind: "local", port: t.app.port, healthPath: t.app.healthPath }
    : apps.length > 0
      ? { kind: "remote", servers: apps.map((a) => ({ address: a.address, port: APP_TLS_PORT })), verifyName: APP_TLS_NAME }
      : { kind: "none" };
  const tls = tlsFiles(t, h, "web");
  const siteFile = checked(file("web", NGINX_SITE, renderNginxSite({ siteName: t.name, hostName: h.name, port: webPort(h), root: WEB_ROOT, tls: { cert: SERVER_CERT, key: SERVER_KEY, ca: CA_FILE }, app })), NGINX_CHECK);
  const defaultSite = file("web", NGINX_DEFAULT_SITE, null);
  const front = h.roles.includes("app") && remoteAppNeeded(t) ? [appTlsFront(t, "web")] : [];
  return [
    { kind: "package", tier: "web", name: "nginx" },
    ...tls,
    { kind: "directory", tier: "web", path: WEB_ROOT, mode: 0o755, owner: "root", group: "root" },
    { kind: "directory", tier: "web", path: `${WEB_ROOT}/static`, mode: 0o755, owner: "root", group: "root" },
    file("web", `${WEB_ROOT}/index.html`, renderHostPage({ siteName: t.name, hostName: h.name })),
    // Debian's default site listens on :80, where a load balancer on the same host must bind.
    defaultSite,
    siteFile,
    ...front,
    nginxService("web", [...tls.filter((r) => r.kind === "file"), defaultSite, siteFile, ...front]),
  ];
}

function appResources(t: TopologySpec, h: HostSpec): Resource[] {
  if (t.app.source === "tarball" && (!t.app.artifact || !t.appArchive)) throw new Error("the app's archive is missing: upload it again");
  const workdir = t.app.source === "sample" ? `${APP_DIR}/sample` : t.app.source === "tarball" ? `${APP_DIR}/releases/${t.app.artifact}` : t.app.path!;
  const out: Resource[] = [];
  if (t.app.source === "sample") out.push({ kind: "package", tier: "app", name: "python3" });
  out.push(
    { kind: "user", tier: "app", name: APP_USER, home: APP_DIR },
    { kind: "directory", tier: "app", path: "/etc/rampart", mode: 0o755, owner: "root", group: "root" },
    { kind: "directory", tier: "app", path: APP_DIR, mode: 0o755, owner: "root", group: "root" },
  );
  const watched: Resource[] = [];
  if (t.app.source === "sample") {
    out.push({ kind: "directory", tier: "app", path: `${APP_DIR}/sample`, mode: 0o755, owner: "root", group: "root" });
    watched.push(file("app", SAMPLE_APP_FILE, SAMPLE_APP));
  }
  if (t.app.source === "tarball") {
    out.push({ kind: "directory", tier: "app", path: `${APP_DIR}/releases`, mode: 0o755, owner: "root", group: "root" });
    watched.push({ kind: "archive", tier: "app", path: workdir, sha256: t.app.artifact!, data: t.appArchive! });
  }
  const env: Array<[string, string]> = [["PORT", String(t.app.port)], ["RAMPART_SERVER", h.name], ["RAMPART_SITE", t.name], ...t.appEnv];
  const unit = file("app", APP_UNIT, renderAppUnit({ siteName: t.name, user: APP_USER, workingDirectory: workdir, startCommand: t.app.startCommand, envFile: APP_ENV }));
  watched.push(file("app", APP_ENV, renderEnvFile(env), 0o600, true), unit);
  out.push(...watched, { kind: "service", tier: "app", name: "rampart-app", reloadOn: [], restartOn: watched.map(resourceId), unitFile: resourceId(unit) });
  if (remoteAppNeeded(t) && !h.roles.includes("web")) {
    // Web servers on other hosts reach this app over TLS, through nginx here.
    // (On a host that is also a web server, the web role's nginx carries the front.)
    const tls = tlsFiles(t, h, "app");
    const defaultSite = file("app", NGINX_DEFAULT_SITE, null);
    const front = appTlsFront(t, "app");
    out.push({ kind: "package", tier: "app", name: "nginx" }, ...tls, defaultSite, front, nginxService("app", [...tls.filter((r) => r.kind === "file"), defaultSite, front]));
  }
  return out;
}

const appTlsFront = (t: TopologySpec, tier: Resource["tier"]) =>
  checked(file(tier, NGINX_APP_FRONT, renderAppTlsFront({ siteName: t.name, port: APP_TLS_PORT, appPort: t.app.port, tls: { cert: SERVER_CERT, key: SERVER_KEY, ca: CA_FILE } })), NGINX_CHECK);

function loadBalancerResources(t: TopologySpec, h: HostSpec): Resource[] {
  if (!t.tls.siteBundle) throw new Error("the site has no certificate yet");
  const mine = t.tls.backends.get(h.serverId);
  if (!mine) throw new Error(`no certificate from the internal CA for ${h.name}`);
  const client = file("load-balancer", LB_CLIENT_BUNDLE, `${mine.certPem.trim()}\n${mine.keyPem.trim()}\n`, 0o600, true);
  const backends = t.hosts.filter((h) => h.roles.includes("web")).map((h) => ({ name: h.name, address: h.address, port: webPort(h), drained: h.drained }));
  // A bundle HAProxy cannot load is rolled back, never left for the next restart to trip on.
  const bundle = checked(file("load-balancer", SITE_BUNDLE, t.tls.siteBundle, 0o600, true), HAPROXY_CHECK);
  const ca = file("load-balancer", CA_FILE, t.tls.caPem);
  const config = checked(
    file("load-balancer", HAPROXY_CONFIG, renderHaproxyConfig({ siteName: t.name, balance: t.balance, backends, checkIntervalMs: HEALTH_CHECK_INTERVAL_MS, siteCertFile: SITE_BUNDLE, caFile: CA_FILE, clientCertFile: LB_CLIENT_BUNDLE })),
    HAPROXY_CHECK,
  );
  return [
    { kind: "package", tier: "load-balancer", name: "haproxy" },
    // socat talks to HAProxy's runtime API (backend health as the load balancer sees it).
    { kind: "package", tier: "load-balancer", name: "socat" },
    { kind: "directory", tier: "load-balancer", path: "/etc/rampart", mode: 0o755, owner: "root", group: "root" },
    { kind: "directory", tier: "load-balancer", path: TLS_DIR, mode: 0o755, owner: "root", group: "root" },
    ca,
    bundle,
    client,
    config,
    { kind: "service", tier: "load-balancer", name: "haproxy", reloadOn: [resourceId(ca), resourceId(bundle), resourceId(client), resourceId(config)], restartOn: [], check: HAPROXY_CHECK },
  ];
}

const LATER: Partial<Record<Role, string>> = {
  "db-primary": "database primary: MariaDB is not installed yet (replication comes with the database issue)",
  "db-replica": "database replica: MariaDB is not installed yet (replication comes with the database issue)",
};

/** The desired resources of every host in the topology, by server id. */
export function desiredState(t: TopologySpec): Map<string, HostDesired> {
  const out = new Map<string, HostDesired>();
  for (const h of t.hosts) {
    const resources: Resource[] = [{ kind: "directory", tier: "base", path: "/var/lib/rampart", mode: 0o755, owner: "root", group: "root" }];
    const notes: string[] = [];
    if (h.roles.includes("app")) resources.push(...appResources(t, h));
    if (h.roles.includes("web")) resources.push(...webResources(t, h));
    if (h.roles.includes("load-balancer")) resources.push(...loadBalancerResources(t, h));
    for (const r of h.roles) if (LATER[r]) notes.push(LATER[r]!);
    if (h.monitoring) notes.push("monitoring client: not installed yet (it comes with the monitoring issue)");
    out.set(h.serverId, { resources: dedupe(resources), notes });
  }
  return out;
}

/** Roles sharing a host may want the same directory or file: keep the first. */
function dedupe(resources: Resource[]): Resource[] {
  const seen = new Map<string, Resource>();
  for (const r of resources) {
    const id = resourceId(r);
    const prev = seen.get(id);
    if (!prev) seen.set(id, r);
    else if (JSON.stringify({ ...prev, tier: null }) !== JSON.stringify({ ...r, tier: null }) && r.kind !== "service") throw new Error(`two roles want different ${id}`);
  }
  return [...seen.values()];
}
