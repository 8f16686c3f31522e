// The load balancer: HAProxy serves the site over HTTPS and re-encrypts to every
// web server, showing its own certificate from the internal CA.
import type { Resource } from "../resources";
import { resourceId } from "../resources";
import { renderHaproxyConfig } from "../render/haproxy";
import { CA_FILE, checked, dir, file, HAPROXY_CHECK, HAPROXY_CONFIG, HEALTH_CHECK_INTERVAL_MS, LB_CLIENT_BUNDLE, SITE_BUNDLE, TLS_DIR, webPort } from "./common";
import { HAPROXY_EXPORTER_PORT } from "./monitoring";
import type { PortClaim, RoleModule } from "./types";

export const loadBalancer: RoleModule = {
  role: "load-balancer",
  label: "Load balancer",
  tier: "load-balancer",
  resources(t, h) {
    if (!t.tls.siteBundle) throw new Error("the site has no certificate yet");
    const mine = t.tls.backends.get(h.serverId);
    if (!mine) throw new Error(`no certificate from the internal CA for ${h.name}`);
    const tier = "load-balancer";
    const client = file(tier, LB_CLIENT_BUNDLE, `${mine.certPem.trim()}\n${mine.keyPem.trim()}\n`, 0o600, true);
    const backends = t.hosts.filter((x) => x.roles.includes("web")).map((x) => ({ name: x.name, address: x.address, port: webPort(x), drained: x.drained }));
    // A bundle HAProxy cannot load is rolled back, never left for the next restart to trip on.
    const bundle = checked(file(tier, SITE_BUNDLE, t.tls.siteBundle, 0o600, true), HAPROXY_CHECK);
    const ca = file(tier, CA_FILE, t.tls.caPem);
    const config = checked(
      file(
        tier,
        HAPROXY_CONFIG,
        renderHaproxyConfig({
          siteName: t.name,
          balance: t.balance,
          backends,
          checkIntervalMs: HEALTH_CHECK_INTERVAL_MS,
          siteCertFile: SITE_BUNDLE,
          caFile: CA_FILE,
          clientCertFile: LB_CLIENT_BUNDLE,
          acmeThumbprint: t.tls.acmeThumbprint ?? null,
          metrics: h.monitoring ? { address: h.address, port: HAPROXY_EXPORTER_PORT } : null,
        }),
      ),
      HAPROXY_CHECK,
    );
    const out: Resource[] = [
      { kind: "package", tier, name: "haproxy" },
      // socat talks to HAProxy's runtime API (backend health as the load balancer sees it).
      { kind: "package", tier, name: "socat" },
      dir(tier, "/etc/rampart"),
      dir(tier, TLS_DIR),
      ca,
      bundle,
      client,
      config,
      { kind: "service", tier, name: "haproxy", reloadOn: [resourceId(ca), resourceId(bundle), resourceId(client), resourceId(config)], restartOn: [], check: HAPROXY_CHECK },
    ];
    return out;
  },
  ports: (t, h) => [
    { port: 80, unit: "haproxy.service", scope: "any", purpose: `HTTP for ${t.name} (redirects, ACME challenges)` },
    { port: 443, unit: "haproxy.service", scope: "any", purpose: `HTTPS for ${t.name}` },
    ...(h.monitoring ? [{ port: HAPROXY_EXPORTER_PORT, unit: "haproxy.service", scope: "any", address: h.address, purpose: "HAProxy's exporter, for Rampart's collector" } satisfies PortClaim] : []),
  ],
  checks(t, h) {
    return [
      ...this.ports(t, h).map((claim) => ({ kind: "listening" as const, claim })),
      { kind: "running-config", unit: "haproxy.service" },
      { kind: "https-site", port: 443 },
      { kind: "backends-up" },
      ...(h.monitoring ? [{ kind: "exporter" as const, port: HAPROXY_EXPORTER_PORT, name: "haproxy", metric: "haproxy_frontend_http_requests_total" }] : []),
    ];
  },
  certificates: (t, h) => [{ kind: "site" }, { kind: "backend", names: [h.name, h.address] }],
  inbound: (t, h) => [
    ...(h.monitoring
      ? [
          {
            port: HAPROXY_EXPORTER_PORT,
            from: { kind: "control-plane" as const },
            protection: "tls" as const,
            label: "TLS + client certificate",
            detail:
              "Rampart's collector (Prometheus) scrapes HAProxy's built-in exporter over TLS with the load balancer's certificate from the internal CA; HAProxy requires a client certificate from the same CA. The firewall opens the port to the control plane only.",
            purpose: "metrics",
          },
        ]
      : []),
    {
      port: 443,
      from: { kind: "internet" },
      protection: "https",
      label: "HTTPS",
      detail: "Visitors connect with HTTPS to the load balancer (HAProxy on :443, with the site certificate); plain HTTP on :80 only redirects to HTTPS.",
      purpose: t.name,
    },
    {
      port: 80,
      from: { kind: "internet" },
      protection: "plain",
      label: "HTTP (redirect)",
      detail: "Plain HTTP on :80 redirects to HTTPS and answers ACME challenges only.",
      purpose: "redirect to HTTPS",
    },
  ],
};
