// The verify phase: the checks that prove each role works, beyond "the files
// match". Host checks are judged from the host's observation (pure, in
// server/provision/checks.ts); here are the ones the worker carries out itself:
//   - HTTPS to each load balancer for the site's name, verified with the site's CA,
//     serving the certificate Rampart deployed;
//   - every backend UP in HAProxy's runtime API (drained ones DRAIN, skipped hosts excused);
//   - the certificate each web (or app-front) server presents, through an SSH
//     forward to its loopback, is the one Rampart issued.
import { createHash, X509Certificate } from "node:crypto";
import https from "node:https";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import type { SshExecutor, Target } from "@/server/exec/ssh-executor";
import { checkName, type CheckResult, judgeHostCheck, isHostCheck, unitName } from "@/server/provision/checks";
import { parseShowStat, showStatCommand } from "@/server/provision/haproxy-stat";
import type { CheckSpec, HostDesired, HostSpec, ModuleName, TopologySpec } from "@/server/provision/roles";
import type { Listener } from "@/server/provision/listeners";
import type { Freshness } from "@/server/provision/observe";
import { HEALTH_CHECK_INTERVAL_MS } from "@/server/provision/roles";
import { mysqlServerCheck, replicationCheck } from "./mysql";

const HTTPS_TIMEOUT_MS = 5000;
/** How long a server may still present its previous certificate after a reload. */
const CERT_SETTLE_MS = 5000;
/** After a reload, HAProxy needs a few health checks before a backend reads UP. */
const BACKENDS_WAIT_MS = HEALTH_CHECK_INTERVAL_MS * 4;

export interface VerifyContext {
  executor: SshExecutor;
  signal: AbortSignal;
  spec: TopologySpec;
  /** Hosts the run skipped or that failed (their backends may be down; that is reported, not failed). */
  excused: Map<string, string>;
  /** Every host's connection (a replica's check writes a row on its primary). */
  targets?: Map<string, Target>;
}

export interface HostFacts {
  listeners: Listener[] | null;
  fresh: Map<string, Freshness>;
}

/** The checks of `roles` on one host: host checks from `facts`, the rest carried out now. */
export async function verifyHost(ctx: VerifyContext, h: HostSpec, target: Target, desired: HostDesired, facts: HostFacts, roles: ReadonlySet<ModuleName>): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const { role, check } of desired.checks) {
    if (!roles.has(role)) continue;
    ctx.signal.throwIfAborted();
    let r: CheckResult;
    try {
      r = isHostCheck(check) ? judgeHostCheck(role, check, facts) : await remoteCheck(ctx, h, target, role, check);
    } catch (err) {
      ctx.signal.throwIfAborted();
      r = { role, name: checkName(check), ok: false, expected: checkName(check), found: `the check could not run: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}` };
    }
    if (!r.ok && check.kind === "running-config") r = { ...r, found: `${r.found}${await daemonSays(ctx, target, check.unit, check.logs ?? [], facts.fresh.get(unitName(check.unit)))}` };
    out.push(r);
  }
  return out;
}

// The unit's journal since its configuration changed, then the log files it writes itself
// (nginx logs a refused reload to its error log, not to the journal).
const DAEMON_LOG_SCRIPT =
  'u=$1; since=$2; shift 2; journalctl --no-pager -o cat -n 200 -u "$u" ${since:+"--since=@$since"} 2>/dev/null; for f in "$@"; do [ -f "$f" ] && tail -n 50 -- "$f"; done; true';
const COMPLAINT = /\[(alert|emerg|crit|error)\]|cannot|failed|refused|denied|no such file|address already in use/i;

/** The daemon's own words about its last reload: its last complaints since the configuration changed. */
async function daemonSays(ctx: VerifyContext, target: Target, unit: string, logs: readonly string[], f: Freshness | undefined): Promise<string> {
  const since = f && f.files.length > 0 ? String(Math.floor(Math.min(...f.files.map((x) => x.mtime))) - 1) : "";
  try {
    const r = await ctx.executor.exec(target, { argv: ["sh", "-c", DAEMON_LOG_SCRIPT, "rampart-daemon-log", unit, since, ...logs], timeoutMs: 10_000 }, { signal: ctx.signal });
    const complaints = [
      ...new Set(
        r.stdout
          .split("\n")
          .map((l) => l.trim())
          .filter((l) => COMPLAINT.test(l)),
      ),
    ].slice(-3);
    return complaints.length > 0 ? `. ${unitName(unit)} said: ${complaints.join(" / ")}` : "";
  } catch {
    return "";
  }
}

async function remoteCheck(ctx: VerifyContext, h: HostSpec, target: Target, role: ModuleName, c: CheckSpec): Promise<CheckResult> {
  const name = checkName(c);
  switch (c.kind) {
    case "https-site":
      return httpsSite(ctx, h, role, c.port, name);
    case "backends-up":
      return backendsUp(ctx, target, role, name);
    case "served-certificate":
      return servedCertificate(ctx, h, target, role, c.port, c.serverName, name);
    case "exporter":
      return exporterAnswers(ctx, h, role, c.port, c.metric, name);
    case "mysql-server":
      return mysqlServerCheck(ctx, target, role, c, name);
    case "replication":
      return replicationCheck(ctx, h, target, role, c, name);
    default:
      throw new Error(`${c.kind} is a host check`);
  }
}

const fingerprint = (pemOrDer: string | Buffer) =>
  createHash("sha256")
    .update(typeof pemOrDer === "string" ? new X509Certificate(pemOrDer).raw : pemOrDer)
    .digest("hex")
    .replace(/(..)(?!$)/g, "$1:")
    .toUpperCase();

/**
 * HTTPS to the load balancer for the site's name. The certificate must verify with the
 * site's CA: Rampart's internal CA, or a public CA the system trusts. An uploaded or ACME
 * certificate from a CA this machine does not trust (a company's own, a private ACME CA) is accepted when it is
 * exactly the one Rampart deployed, valid for the name and today.
 */
function httpsSite(ctx: VerifyContext, h: HostSpec, role: ModuleName, port: number, name: string): Promise<CheckResult> {
  const site = ctx.spec.name;
  const bundle = ctx.spec.tls.siteBundle ?? "";
  const certs = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const deployed = certs[0] ? fingerprint(certs[0]) : null;
  // Uploaded and ACME certificates may come from a CA this machine does not trust (a private
  // one, Pebble in tests): then the exact certificate Rampart deployed is what is checked.
  const pinnable = ctx.spec.tls.siteSource === "uploaded" || ctx.spec.tls.siteSource === "acme";
  const expected = `https://${site}/ answers through ${h.name} (${h.address}:${port}) with the certificate Rampart deployed${deployed ? ` (${deployed.slice(0, 23)}…)` : ""}, verified by the site's CA`;
  return new Promise((resolve) => {
    const req = https.request(
      {
        host: h.address,
        port,
        path: "/",
        method: "GET",
        servername: site,
        headers: { host: site, "user-agent": "rampart-verify" },
        ca: [ctx.spec.tls.caPem, ...certs.slice(1), ...tls.rootCertificates],
        // Judged below: an untrusted chain is only accepted for an uploaded or ACME certificate Rampart deployed itself.
        rejectUnauthorized: false,
        timeout: HTTPS_TIMEOUT_MS,
        agent: false,
        signal: ctx.signal,
      },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const peer = socket.getPeerCertificate();
        const served = peer?.raw ? fingerprint(peer.raw) : null;
        res.resume();
        const status = res.statusCode ?? 0;
        const record = { purpose: "site" as const, port, fingerprint: served, deployed };
        const fail = (found: string) => resolve({ role, name, ok: false, expected, found, served: record });
        if (deployed && served !== deployed) return fail(`it serves another certificate (${served?.slice(0, 23) ?? "none"}…), not the one Rampart deployed`);
        let trust = "verified";
        if (!socket.authorized) {
          const why = String(socket.authorizationError ?? "not trusted");
          if (!pinnable) return fail(`the certificate does not verify: ${why}`);
          const wrongName = tls.checkServerIdentity(site, peer);
          if (wrongName) return fail(`the certificate is not valid for ${site}: ${wrongName.message}`);
          const now = Date.now();
          if (now < Date.parse(peer.valid_from) || now > Date.parse(peer.valid_to)) return fail(`the certificate is not valid today (${peer.valid_from} – ${peer.valid_to})`);
          trust = `the ${ctx.spec.tls.siteSource === "acme" ? "ACME" : "uploaded"} certificate Rampart deployed (its CA is not one this machine trusts: ${why})`;
        }
        if (status >= 500) return fail(`HTTP ${status} ${res.statusMessage ?? ""}`.trim());
        resolve({ role, name, ok: true, expected, found: `HTTP ${status}, ${trust}`, served: record });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${HTTPS_TIMEOUT_MS / 1000} s`)));
    req.on("error", (err: Error & { code?: string }) =>
      resolve({ role, name, ok: false, expected, found: `${err.code ? `${err.code}: ` : ""}${err.message}`, served: { purpose: "site", port, fingerprint: null, deployed } }),
    );
    req.end();
  });
}

/** Every backend the load balancer should use reads UP (waiting a few health checks after a reload). */
async function backendsUp(ctx: VerifyContext, target: Target, role: ModuleName, name: string): Promise<CheckResult> {
  const web = ctx.spec.hosts.filter((x) => x.roles.includes("web"));
  const expected = `HAProxy sees ${web.map((w) => `${w.name} ${w.drained ? "DRAIN" : "UP"}`).join(", ")}${ctx.excused.size ? " (skipped hosts excused)" : ""}`;
  const until = Date.now() + BACKENDS_WAIT_MS;
  for (;;) {
    const r = await ctx.executor.exec(target, showStatCommand(), { signal: ctx.signal });
    if (r.exitCode !== 0) return { role, name, ok: false, expected, found: `HAProxy's runtime API did not answer: ${(r.stderr.trim() || `exit ${r.exitCode}`).split("\n")[0]}` };
    const seen = new Map(parseShowStat(r.stdout).map((b) => [b.server, b]));
    const wrong: string[] = [];
    const notes: string[] = [];
    for (const w of web) {
      const b = seen.get(w.name);
      const status = b?.status ?? "missing";
      const good = w.drained ? status === "DRAIN" || status.startsWith("MAINT") || status.startsWith("UP") : status === "UP";
      if (good) continue;
      const why = ctx.excused.get(w.serverId);
      if (why) notes.push(`${w.name} ${status} (${why})`);
      else wrong.push(`${w.name} ${status}${b?.check ? ` (${b.check})` : ""}`);
    }
    if (wrong.length === 0) return { role, name, ok: true, expected, found: notes.length ? `all UP but ${notes.join(", ")}` : "all backends as expected" };
    if (Date.now() > until) return { role, name, ok: false, expected, found: wrong.join(", ") };
    await new Promise((r) => setTimeout(r, 500));
    ctx.signal.throwIfAborted();
  }
}

/** The certificate a server presents on `port` (reached through its own SSH connection, on its loopback) is the one Rampart issued it. */
async function servedCertificate(ctx: VerifyContext, h: HostSpec, target: Target, role: ModuleName, port: number, serverName: string, name: string): Promise<CheckResult> {
  // Right after a reload, a worker of the old generation may still take a connection
  // for a moment (nginx starts the new workers before it tells the old ones to stop):
  // a wrong answer is asked again, briefly, before it counts.
  const until = Date.now() + CERT_SETTLE_MS;
  for (;;) {
    const r = await servedCertificateOnce(ctx, h, target, role, port, serverName, name);
    if (r.ok || Date.now() > until) return r;
    await new Promise((resolve) => setTimeout(resolve, 300));
    ctx.signal.throwIfAborted();
  }
}

async function servedCertificateOnce(ctx: VerifyContext, h: HostSpec, target: Target, role: ModuleName, port: number, serverName: string, name: string): Promise<CheckResult> {
  const mine = ctx.spec.tls.backends.get(h.serverId);
  if (!mine) return { role, name, ok: false, expected: "a certificate from Rampart's CA", found: "Rampart has no certificate for this host" };
  const want = fingerprint(mine.certPem);
  const expected = `port ${port} presents Rampart's certificate for ${serverName} (${want.slice(0, 23)}…), verified by Rampart's CA`;
  const socket: Duplex = await ctx.executor.forward(target, "127.0.0.1", port, { signal: ctx.signal });
  return new Promise((resolve) => {
    // The server requires a client certificate from Rampart's CA: the host's own is one.
    // Judged below rather than refused in the handshake, so that what was served is known (and recorded) either way.
    const s = tls.connect({ socket, servername: serverName, ca: ctx.spec.tls.caPem, cert: mine.certPem, key: mine.keyPem, minVersion: "TLSv1.2", rejectUnauthorized: false });
    const timer = setTimeout(() => s.destroy(new Error(`no TLS handshake within ${HTTPS_TIMEOUT_MS / 1000} s`)), HTTPS_TIMEOUT_MS);
    const done = (r: CheckResult) => {
      clearTimeout(timer);
      s.destroy();
      socket.destroy();
      resolve(r);
    };
    s.once("secureConnect", () => {
      const served = s.getPeerCertificate()?.raw;
      const got = served ? fingerprint(served) : null;
      const record = { purpose: "backend" as const, port, fingerprint: got, deployed: want };
      if (got !== want)
        done({ role, name, ok: false, expected, found: `another certificate: ${got?.slice(0, 23) ?? "none"}…${s.authorized ? "" : ` (${String(s.authorizationError)})`}`, served: record });
      else if (!s.authorized) done({ role, name, ok: false, expected, found: `the certificate Rampart issued, but it does not verify: ${String(s.authorizationError)}`, served: record });
      else done({ role, name, ok: true, expected, found: "the certificate Rampart issued, verified", served: record });
    });
    s.once("error", (err: Error & { code?: string }) =>
      done({ role, name, ok: false, expected, found: `${err.code ? `${err.code}: ` : ""}${err.message}`, served: { purpose: "backend", port, fingerprint: null, deployed: want } }),
    );
  });
}

interface ScrapeResult {
  status: number | null;
  body: string;
  fingerprint: string | null;
  error: string | null;
}

/** GET /metrics from an exporter on the host's address, as Prometheus does (with Rampart's collector certificate, or without one). */
export function scrapeExporter(
  address: string,
  port: number,
  tlsMaterial: { caPem: string; client: { certPem: string; keyPem: string } | null },
  signal?: AbortSignal,
  timeoutMs = HTTPS_TIMEOUT_MS,
): Promise<ScrapeResult> {
  return new Promise((resolve) => {
    let fp: string | null = null;
    const req = https.request(
      {
        host: address,
        port,
        path: "/metrics",
        method: "GET",
        ca: tlsMaterial.caPem,
        ...(tlsMaterial.client ? { cert: tlsMaterial.client.certPem, key: tlsMaterial.client.keyPem } : {}),
        headers: { "user-agent": "rampart-verify", accept: "text/plain" },
        minVersion: "TLSv1.2",
        timeout: timeoutMs,
        agent: false,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          // Enough to find a metric by name; the rest is read and dropped.
          if (size < 4 << 20) chunks.push(c);
          size += c.length;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), fingerprint: fp, error: null }));
        res.on("error", (err) => resolve({ status: res.statusCode ?? 0, body: "", fingerprint: fp, error: err.message }));
      },
    );
    req.on("socket", (s) =>
      s.once("secureConnect", () => {
        const raw = (s as tls.TLSSocket).getPeerCertificate()?.raw;
        fp = raw ? fingerprint(raw) : null;
      }),
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on("error", (err: Error & { code?: string }) => resolve({ status: null, body: "", fingerprint: fp, error: `${err.code ? `${err.code}: ` : ""}${err.message}` }));
    req.end();
  });
}

/**
 * The exporter answers Rampart's collector (TLS verified against the internal CA, its
 * client certificate presented) with the metric it must have, serves the certificate
 * Rampart issued the host, and refuses a client that presents none.
 */
async function exporterAnswers(ctx: VerifyContext, h: HostSpec, role: ModuleName, port: number, metric: string, name: string): Promise<CheckResult> {
  const mine = ctx.spec.tls.backends.get(h.serverId);
  const collector = ctx.spec.tls.collector;
  const expected = `${h.address}:${port} answers Rampart's collector over TLS with ${metric}, and refuses a client without Rampart's certificate`;
  if (!mine || !collector) return { role, name, ok: false, expected, found: "Rampart has no certificate for this host or for its collector" };
  const want = fingerprint(mine.certPem);
  // Right after a restart the exporter may need a moment before it accepts connections.
  const until = Date.now() + CERT_SETTLE_MS;
  let r: ScrapeResult;
  for (;;) {
    r = await scrapeExporter(h.address, port, { caPem: ctx.spec.tls.caPem, client: collector }, ctx.signal);
    if ((r.status === 200 && r.fingerprint === want) || Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
    ctx.signal.throwIfAborted();
  }
  const served = { purpose: "backend" as const, port, fingerprint: r.fingerprint, deployed: want };
  if (r.error) return { role, name, ok: false, expected, found: r.error, served };
  if (r.fingerprint !== want) return { role, name, ok: false, expected, found: `another certificate: ${r.fingerprint?.slice(0, 23) ?? "none"}…`, served };
  if (r.status !== 200) return { role, name, ok: false, expected, found: `HTTP ${r.status}`, served };
  if (!new RegExp(`^${metric}[{ ]`, "m").test(r.body)) return { role, name, ok: false, expected, found: `it answered, without ${metric}`, served };
  const anon = await scrapeExporter(h.address, port, { caPem: ctx.spec.tls.caPem, client: null }, ctx.signal);
  if (anon.status === 200) return { role, name, ok: false, expected, found: "it also answers a client without a certificate (the client certificate is not required)", served };
  return { role, name, ok: true, expected, found: `answered with ${metric}; a client without a certificate was refused (${anon.error ?? `HTTP ${anon.status}`})`, served };
}
