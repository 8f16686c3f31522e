// App servers: the operator's app (or Rampart's sample app) under systemd as an
// unprivileged user, on loopback; web servers on other hosts reach it through a
// TLS front in nginx.
import { renderAppUnit, renderEnvFile, SAMPLE_APP } from "../render/app";
import type { Resource } from "../resources";
import { resourceId } from "../resources";
import {
  APP_DIR,
  APP_ENV,
  CA_FILE,
  TLS_DIR,
  APP_TLS_NAME,
  APP_TLS_PORT,
  APP_UNIT,
  APP_USER,
  appTlsFront,
  carriesAppFront,
  dir,
  file,
  NGINX_DEFAULT_SITE,
  nginxService,
  SAMPLE_APP_FILE,
  tlsFiles,
} from "./common";
import type { InboundTraffic, PortClaim, RoleModule, TopologySpec } from "./types";
import { APP_DATABASE, APP_DB_USER, dbAddress, MYSQL_PORT, primaryOf, replicasOf } from "./database";

/**
 * What the app is told about its database (the primary for writes, the replicas for
 * reads), in its secret environment file: the password is never shown anywhere else.
 */
export function databaseEnv(t: TopologySpec): Array<[string, string]> {
  const primary = primaryOf(t);
  if (!primary || !t.database) return [];
  const host = dbAddress(primary);
  const password = t.database.appPassword.reveal();
  return [
    ["DATABASE_URL", `mysql://${APP_DB_USER}:${password}@${host}:${MYSQL_PORT}/${APP_DATABASE}?ssl-mode=VERIFY_IDENTITY&ssl-ca=${encodeURIComponent(CA_FILE)}`],
    ["DB_HOST", host],
    ["DB_PORT", String(MYSQL_PORT)],
    ["DB_NAME", APP_DATABASE],
    ["DB_USER", APP_DB_USER],
    ["DB_PASSWORD", password],
    ["DB_SSL_CA", CA_FILE],
    ["DB_REPLICA_HOSTS", replicasOf(t).map(dbAddress).join(",")],
  ];
}

export const app: RoleModule = {
  role: "app",
  label: "App",
  tier: "app",
  resources(t, h) {
    if (t.app.source === "tarball" && (!t.app.artifact || !t.appArchive)) throw new Error("the app's archive is missing: upload it again");
    const workdir = t.app.source === "sample" ? `${APP_DIR}/sample` : t.app.source === "tarball" ? `${APP_DIR}/releases/${t.app.artifact}` : t.app.path!;
    const out: Resource[] = [];
    const primary = primaryOf(t);
    if (t.app.source === "sample") out.push({ kind: "package", tier: "app", name: "python3" });
    // The sample app talks to the database with PyMySQL (Debian's package).
    if (t.app.source === "sample" && primary) out.push({ kind: "package", tier: "app", name: "python3-pymysql" });
    out.push({ kind: "user", tier: "app", name: APP_USER, home: APP_DIR }, dir("app", "/etc/rampart"), dir("app", APP_DIR));
    const watched: Resource[] = [];
    if (t.app.source === "sample") {
      out.push(dir("app", `${APP_DIR}/sample`));
      watched.push(file("app", SAMPLE_APP_FILE, SAMPLE_APP));
    }
    if (t.app.source === "tarball") {
      out.push(dir("app", `${APP_DIR}/releases`));
      watched.push({ kind: "archive", tier: "app", path: workdir, sha256: t.app.artifact!, data: t.appArchive! });
    }
    const env: Array<[string, string]> = [["PORT", String(t.app.port)], ["RAMPART_SERVER", h.name], ["RAMPART_SITE", t.name], ...databaseEnv(t), ...t.appEnv];
    // The database's certificate is verified against the internal CA.
    if (primary) out.push(dir("app", TLS_DIR), file("app", CA_FILE, t.tls.caPem));
    const unit = file("app", APP_UNIT, renderAppUnit({ siteName: t.name, user: APP_USER, workingDirectory: workdir, startCommand: t.app.startCommand, envFile: APP_ENV }));
    watched.push(file("app", APP_ENV, renderEnvFile(env), 0o600, true), unit);
    out.push(...watched, { kind: "service", tier: "app", name: "rampart-app", reloadOn: [], restartOn: watched.map(resourceId), unitFile: resourceId(unit) });
    if (carriesAppFront(t, h) && !h.roles.includes("web")) {
      // Web servers on other hosts reach this app over TLS, through nginx here.
      // (On a host that is also a web server, the web role's nginx carries the front.)
      const tls = tlsFiles(t, h, "app");
      const defaultSite = file("app", NGINX_DEFAULT_SITE, null);
      const front = appTlsFront(t, "app");
      out.push({ kind: "package", tier: "app", name: "nginx" }, ...tls, defaultSite, front, nginxService("app", [...tls.filter((r) => r.kind === "file"), defaultSite, front]));
    }
    return out;
  },
  ports(t, h) {
    const own: PortClaim[] = [{ port: t.app.port, unit: "rampart-app.service", scope: "loopback", purpose: "the app, for nginx on this host" }];
    if (carriesAppFront(t, h) && !h.roles.includes("web"))
      own.push({ port: APP_TLS_PORT, unit: "nginx.service", scope: "any" as const, purpose: "the app's TLS front for web servers on other hosts" });
    return own;
  },
  checks(t, h) {
    const checks = this.ports(t, h).map((claim) => ({ kind: "listening" as const, claim }));
    if (carriesAppFront(t, h) && !h.roles.includes("web"))
      return [
        ...checks,
        { kind: "running-config" as const, unit: "nginx.service", logs: ["/var/log/nginx/error.log"] },
        { kind: "served-certificate" as const, port: APP_TLS_PORT, serverName: APP_TLS_NAME },
      ];
    return checks;
  },
  // Every app server gets one (stable across topology changes that add or remove the TLS front).
  certificates: (t, h) => [{ kind: "backend", names: [h.name, h.address, APP_TLS_NAME] }],
  inbound(t, h) {
    const out: InboundTraffic[] = [];
    if (h.roles.includes("web"))
      out.push({
        port: t.app.port,
        from: { kind: "same-host" },
        protection: "loopback",
        label: "loopback",
        detail: `${h.name}'s web server passes requests to the app on its own host over loopback: the traffic never leaves the host.`,
        purpose: "app requests",
      });
    if (carriesAppFront(t, h))
      out.push({
        port: APP_TLS_PORT,
        from: { kind: "role", role: "web" },
        protection: "tls",
        label: "TLS (internal CA)",
        detail: `Web servers on other hosts reach the app on ${h.name} over TLS (port ${APP_TLS_PORT}), verified against Rampart's internal CA.`,
        purpose: "app requests",
      });
    return out;
  },
};
