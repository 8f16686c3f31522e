// What each role puts on a server: the desired resources, in the order they
// apply on that host. Pure: a topology in, resources and notes out.
import type { Role } from "../schemas/topology";
import type { Resource, ServiceRes } from "./resources";
import { resourceId } from "./resources";
import { renderHostPage, renderNginxSite } from "./render/nginx";
import { renderHaproxyConfig } from "./render/haproxy";

export interface TopologySpec {
  id: string;
  name: string;
  balance: "roundrobin" | "leastconn";
  hosts: HostSpec[];
}

export interface HostSpec {
  serverId: string;
  name: string;
  address: string;
  roles: Role[];
  monitoring: boolean;
}

export interface HostDesired {
  resources: Resource[];
  notes: string[];
}

/** The port nginx serves the site on behind the load balancer (not 80, so a load balancer can share the host). */
export const WEB_BACKEND_PORT = 8080;
export const WEB_ROOT = "/var/www/rampart";
export const NGINX_SITE = "/etc/nginx/conf.d/rampart-site.conf";
export const NGINX_DEFAULT_SITE = "/etc/nginx/sites-enabled/default";
export const HAPROXY_CONFIG = "/etc/haproxy/haproxy.cfg";
export const HEALTH_CHECK_INTERVAL_MS = 2000;

const file = (tier: Resource["tier"], path: string, content: string | null, mode = 0o644): Resource => ({ kind: "file", tier, path, content, mode, owner: "root", group: "root" });

function webResources(t: TopologySpec, h: HostSpec): Resource[] {
  const site = { siteName: t.name, hostName: h.name, port: WEB_BACKEND_PORT, root: WEB_ROOT };
  const siteFile = file("web", NGINX_SITE, renderNginxSite(site));
  const defaultSite = file("web", NGINX_DEFAULT_SITE, null);
  const nginx: ServiceRes = {
    kind: "service",
    tier: "web",
    name: "nginx",
    reloadOn: [resourceId(siteFile), resourceId(defaultSite)],
    restartOn: [],
    check: ["nginx", "-t", "-q"],
  };
  return [
    { kind: "package", tier: "web", name: "nginx" },
    { kind: "directory", tier: "web", path: WEB_ROOT, mode: 0o755, owner: "root", group: "root" },
    file("web", `${WEB_ROOT}/index.html`, renderHostPage(site)),
    // Debian's default site listens on :80, where a load balancer on the same host must bind.
    defaultSite,
    siteFile,
    nginx,
  ];
}

function loadBalancerResources(t: TopologySpec): Resource[] {
  const backends = t.hosts.filter((h) => h.roles.includes("web")).map((h) => ({ name: h.name, address: h.address, port: WEB_BACKEND_PORT }));
  const config = file("load-balancer", HAPROXY_CONFIG, renderHaproxyConfig({ siteName: t.name, balance: t.balance, backends, checkIntervalMs: HEALTH_CHECK_INTERVAL_MS }));
  return [
    { kind: "package", tier: "load-balancer", name: "haproxy" },
    config,
    { kind: "service", tier: "load-balancer", name: "haproxy", reloadOn: [resourceId(config)], restartOn: [], check: ["haproxy", "-c", "-q", "-f", HAPROXY_CONFIG] },
  ];
}

const LATER: Partial<Record<Role, string>> = {
  app: "app role: nothing is deployed for it yet (the application service comes with the web tier)",
  "db-primary": "database primary: MariaDB is not installed yet (replication comes with the database issue)",
  "db-replica": "database replica: MariaDB is not installed yet (replication comes with the database issue)",
};

/** The desired resources of every host in the topology, by server id. */
export function desiredState(t: TopologySpec): Map<string, HostDesired> {
  const out = new Map<string, HostDesired>();
  for (const h of t.hosts) {
    const resources: Resource[] = [{ kind: "directory", tier: "base", path: "/var/lib/rampart", mode: 0o755, owner: "root", group: "root" }];
    const notes: string[] = [];
    if (h.roles.includes("web")) resources.push(...webResources(t, h));
    if (h.roles.includes("load-balancer")) resources.push(...loadBalancerResources(t));
    for (const r of h.roles) if (LATER[r]) notes.push(LATER[r]!);
    if (h.monitoring) notes.push("monitoring client: not installed yet (it comes with the monitoring issue)");
    out.set(h.serverId, { resources, notes });
  }
  return out;
}
