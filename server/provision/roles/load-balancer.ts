// The load balancer: HAProxy serves the site over HTTPS and re-encrypts to every
// web server, showing its own certificate from the internal CA.
import type { Resource } from "../resources";
import { resourceId } from "../resources";
import { renderHaproxyConfig } from "../render/haproxy";
import { CA_FILE, checked, dir, file, HAPROXY_CHECK, HAPROXY_CONFIG, HEALTH_CHECK_INTERVAL_MS, LB_CLIENT_BUNDLE, SITE_BUNDLE, TLS_DIR, webPort } from "./common";
import type { RoleModule } from "./types";

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
  ports: (t) => [
    { port: 80, unit: "haproxy.service", scope: "any", purpose: `HTTP for ${t.name} (redirects, ACME challenges)` },
    { port: 443, unit: "haproxy.service", scope: "any", purpose: `HTTPS for ${t.name}` },
  ],
  checks(t, h) {
    return [
      ...this.ports(t, h).map((claim) => ({ kind: "listening" as const, claim })),
      { kind: "running-config", unit: "haproxy.service" },
      { kind: "https-site", port: 443 },
      { kind: "backends-up" },
    ];
  },
  certificates: (t, h) => [{ kind: "site" }, { kind: "backend", names: [h.name, h.address] }],
  inbound: (t) => [
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
