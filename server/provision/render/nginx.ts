// nginx on web servers (HTTPS with the internal CA's certificate, static files,
// proxy to the app servers) and on app servers reached from other hosts (a TLS
// front for the app, which itself listens on loopback only). Pure renderers.
import { TLS12_CIPHERS, TLS13_SUITES } from "./tls";
import { MANAGED_MARK } from "../resources";

export const MANAGED_HEADER = (site: string) => `# ${MANAGED_MARK} for ${site}. Edits made here are reported as drift and undone by the next apply.`;

export interface TlsFiles {
  cert: string;
  key: string;
  ca: string;
}

/** Where a web server sends what is not a static file. */
export type AppUpstream =
  | { kind: "none" }
  /** The app runs on this host: plain HTTP on loopback. */
  | { kind: "local"; port: number; healthPath: string }
  /** The apps run elsewhere: TLS, each app server's certificate verified against the internal CA. */
  | { kind: "remote"; servers: Array<{ address: string; port: number }>; verifyName: string };

export interface WebSite {
  siteName: string;
  hostName: string;
  port: number;
  root: string;
  tls: TlsFiles;
  app: AppUpstream;
}

function tlsLines(tls: TlsFiles): string {
  return `    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    # Only the tier in front (a certificate from Rampart's CA) may connect.
    ssl_client_certificate ${tls.ca};
    ssl_verify_client on;
    ssl_verify_depth 1;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ${TLS12_CIPHERS};
    ssl_conf_command Ciphersuites ${TLS13_SUITES};
    ssl_prefer_server_ciphers off;
    ssl_session_tickets off;`;
}

const hostPort = (address: string, port: number) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

export function renderNginxSite(s: WebSite): string {
  const upstream =
    s.app.kind === "remote"
      ? `upstream rampart_app {
${s.app.servers.map((a) => `    server ${hostPort(a.address, a.port)} max_fails=2 fail_timeout=5s;`).join("\n")}
    keepalive 16;
}

`
      : "";
  const proxyCommon = `        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto https;
        proxy_set_header X-Rampart-Web ${s.hostName};
        proxy_http_version 1.1;
        proxy_set_header Connection "";`;
  const appLocation =
    s.app.kind === "local"
      ? `
    location / {
        proxy_pass http://127.0.0.1:${s.app.port};
${proxyCommon}
    }`
      : s.app.kind === "remote"
        ? `
    location / {
        proxy_pass https://rampart_app;
${proxyCommon}
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate ${s.tls.ca};
        proxy_ssl_certificate ${s.tls.cert};
        proxy_ssl_certificate_key ${s.tls.key};
        proxy_ssl_name ${s.app.verifyName};
        proxy_ssl_server_name on;
        proxy_ssl_protocols TLSv1.2 TLSv1.3;
        proxy_next_upstream error timeout http_502 http_503;
    }`
        : `
    location / {
        try_files $uri $uri/ =404;
    }`;
  // With a local app, the load balancer's health check asks the app itself.
  const health =
    s.app.kind === "local"
      ? `    location = /healthz {
        access_log off;
        proxy_pass http://127.0.0.1:${s.app.port}${s.app.healthPath};
    }`
      : `    location = /healthz {
        access_log off;
        default_type text/plain;
        return 200 "ok\\n";
    }`;
  return `${MANAGED_HEADER(s.siteName)}
${upstream}server {
    # HTTPS only: the web servers serve nothing over plain HTTP.
    listen ${s.port} ssl http2 default_server;
    server_name ${s.siteName} ${s.hostName};
${tlsLines(s.tls)}
    root ${s.root};
    index index.html;
    access_log /var/log/nginx/rampart-access.log;
    error_log /var/log/nginx/rampart-error.log;

    # The load balancer's health check.
${health}

    location /static/ {
        try_files $uri =404;
    }
${appLocation}
}
`;
}

/** On an app server that web servers on other hosts reach: TLS in front of the app on loopback. */
export function renderAppTlsFront(s: { siteName: string; port: number; appPort: number; tls: TlsFiles }): string {
  return `${MANAGED_HEADER(s.siteName)}
server {
    listen ${s.port} ssl;
${tlsLines(s.tls)}
    access_log off;

    location / {
        proxy_pass http://127.0.0.1:${s.appPort};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto https;
        proxy_pass_request_headers on;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page each web server serves when the site has no app servers: it names the host. */
export function renderHostPage(s: { siteName: string; hostName: string }): string {
  const site = escapeHtml(s.siteName);
  const host = escapeHtml(s.hostName);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${site}</title></head>
<body>
<h1>${site}</h1>
<p>Served by ${host}</p>
</body>
</html>
`;
}

/**
 * nginx's side of the nginx exporter on a web server: `stub_status` on loopback for the
 * exporter, and a TLS front on the server's address that passes the exporter's metrics to
 * Rampart's collector only (the exporter itself cannot require a client certificate).
 */
export function renderNginxMetrics(m: { siteName: string; address: string; statusPort: number; frontPort: number; exporterPort: number; tls: TlsFiles }): string {
  const listen = m.address.includes(":") ? `[${m.address}]:${m.frontPort}` : `${m.address}:${m.frontPort}`;
  return `${MANAGED_HEADER(m.siteName)}
server {
    # Connection and request counters for the nginx exporter on this host, on loopback only.
    listen 127.0.0.1:${m.statusPort};
    access_log off;
    location = /stub_status {
        stub_status;
    }
    location / {
        return 404;
    }
}

server {
    # The nginx exporter's metrics, for Rampart's collector (a certificate from Rampart's CA) only.
    listen ${listen} ssl;
    access_log off;
${tlsLines(m.tls)}
    location = /metrics {
        proxy_pass http://127.0.0.1:${m.exporterPort}/metrics;
    }
    location / {
        return 404;
    }
}
`;
}
