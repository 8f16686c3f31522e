// HAProxy on load balancers: plain HTTP across the web servers, with health checks.
// (TLS termination and re-encryption to the backends come with the web tier.)
import { MANAGED_HEADER } from "./nginx";

export interface Backend {
  name: string;
  address: string;
  port: number;
}

export interface LoadBalancer {
  siteName: string;
  balance: "roundrobin" | "leastconn";
  backends: Backend[];
  /** How often each backend is checked, in ms. */
  checkIntervalMs: number;
}

const hostPort = (address: string, port: number) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

export function renderHaproxyConfig(lb: LoadBalancer): string {
  const servers = lb.backends.map((b) => `    server ${b.name} ${hostPort(b.address, b.port)}`).join("\n");
  return `${MANAGED_HEADER(lb.siteName)}
global
    log /dev/log local0
    log /dev/log local1 notice
    chroot /var/lib/haproxy
    stats socket /run/haproxy/admin.sock mode 660 level admin
    stats timeout 30s
    user haproxy
    group haproxy
    daemon

defaults
    log global
    mode http
    option httplog
    option dontlognull
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend site
    bind :80
    default_backend web

backend web
    balance ${lb.balance}
    option httpchk GET /healthz
    http-check expect status 200
    default-server check inter ${lb.checkIntervalMs} fall 2 rise 2
${servers}
`;
}
