// HAProxy on load balancers: HTTPS for the site (HTTP redirects, except ACME
// challenges), re-encrypted to every web server with its certificate verified
// against Rampart's internal CA, active health checks over TLS.
import { MANAGED_HEADER } from "./nginx";
import { HSTS, TLS12_CIPHERS, TLS13_SUITES } from "./tls";

export interface Backend {
  /** The server's name: also the name its certificate is verified against. */
  name: string;
  address: string;
  port: number;
  /** Drained: no new requests (weight 0), health still checked. */
  drained: boolean;
}

export interface LoadBalancer {
  siteName: string;
  balance: "roundrobin" | "leastconn";
  backends: Backend[];
  /** How often each backend is checked, in ms. */
  checkIntervalMs: number;
  /** PEM bundle (certificate, chain, key) of the site. */
  siteCertFile: string;
  caFile: string;
  /** The load balancer's own certificate and key from the internal CA, shown to the web servers (they require one). */
  clientCertFile: string;
  /**
   * The RFC 7638 thumbprint of the site's ACME account: HTTP-01 challenges are then
   * answered here, statelessly ("<token>.<thumbprint>"), so an order puts nothing on the host.
   */
  acmeThumbprint?: string | null;
  /**
   * HAProxy's built-in Prometheus exporter, on this address and port, over TLS with the
   * load balancer's certificate from Rampart's CA, for clients with a certificate from it only.
   */
  metrics?: { address: string; port: number } | null;
}

/** A thumbprint is base64url (43 characters for SHA-256): nothing else may reach the configuration. */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

export const HAPROXY_SOCKET = "/run/haproxy/admin.sock";

const hostPort = (address: string, port: number) => (address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`);

export function renderHaproxyConfig(lb: LoadBalancer): string {
  if (lb.acmeThumbprint && !THUMBPRINT.test(lb.acmeThumbprint)) throw new Error(`not an ACME account thumbprint: ${JSON.stringify(lb.acmeThumbprint)}`);
  const acme = lb.acmeThumbprint
    ? `    # ACME HTTP-01 (RFC 8555 §8.3): the key authorization is the token and the account's thumbprint.
    http-request return status 200 content-type text/plain lf-string "%[path,field(4,/)].${lb.acmeThumbprint}" if { path_reg ^/[.]well-known/acme-challenge/[A-Za-z0-9_-]+$ }
`
    : "";
  const servers = lb.backends.map((b) => `    server ${b.name} ${hostPort(b.address, b.port)} verifyhost ${b.name} sni str(${b.name})${b.drained ? " weight 0" : ""}`).join("\n");
  return `${MANAGED_HEADER(lb.siteName)}
global
    log /dev/log local0
    log /dev/log local1 notice
    chroot /var/lib/haproxy
    # The runtime API (health, drain); it also hands the listening sockets to
    # the new process on a reload, so no connection is refused meanwhile.
    stats socket ${HAPROXY_SOCKET} mode 660 level admin expose-fd listeners
    stats timeout 30s
    user haproxy
    group haproxy
    daemon
    # Mozilla "intermediate": TLS 1.2 and 1.3, forward-secret AEAD ciphers.
    ssl-default-bind-ciphers ${TLS12_CIPHERS}
    ssl-default-bind-ciphersuites ${TLS13_SUITES}
    ssl-default-bind-options prefer-client-ciphers ssl-min-ver TLSv1.2 no-tls-tickets
    ssl-default-server-ciphers ${TLS12_CIPHERS}
    ssl-default-server-ciphersuites ${TLS13_SUITES}
    ssl-default-server-options ssl-min-ver TLSv1.2 no-tls-tickets

defaults
    log global
    mode http
    option httplog
    option dontlognull
    option redispatch
    retries 3
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 10s

frontend http
    bind :80
    # ACME HTTP-01 challenges must stay reachable over plain HTTP; all else goes to HTTPS.
${acme}    http-request redirect scheme https code 301 unless { path_beg /.well-known/acme-challenge/ }
    default_backend acme_challenge

frontend https
    bind :443 ssl crt ${lb.siteCertFile} alpn h2,http/1.1
    http-response set-header Strict-Transport-Security "${HSTS}"
    http-request set-header X-Forwarded-Proto https
    option forwardfor
    default_backend web

backend web
    balance ${lb.balance}
    option httpchk GET /healthz
    http-check expect status 200
    # Re-encrypted to every web server; each side proves itself with a certificate from Rampart's CA.
    default-server check inter ${lb.checkIntervalMs} fall 2 rise 2 ssl verify required ca-file ${lb.caFile} crt ${lb.clientCertFile}
${servers}

backend acme_challenge
    # No server: without an ACME account for the site, challenges get a 503.
${
  lb.metrics
    ? `
frontend metrics
    # HAProxy's Prometheus exporter, for Rampart's collector only: TLS with this server's
    # certificate from Rampart's CA, and a client certificate from the same CA required.
    bind ${hostPort(lb.metrics.address, lb.metrics.port)} ssl crt ${lb.clientCertFile} ca-file ${lb.caFile} verify required
    no log
    http-request use-service prometheus-exporter if { path /metrics }
    http-request deny
`
    : ""
}`;
}
