// Access control, checked from the routers themselves: every tRPC procedure and
// every REST route, called over the real HTTP handlers with no credentials, as a
// viewer, with tokens of each scope, and cross-site.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { AnyProcedure, AnyRouter } from "@trpc/server";
import type { Db } from "@/server/db";
import { createTestDb, testDbProvider } from "../support/test-db";
import { makeUser } from "../support/auth";

let db: Db;
let dir: string;
let viewer: Awaited<ReturnType<typeof makeUser>>;
let admin: Awaited<ReturnType<typeof makeUser>>;
let http: typeof import("@/server/api/http");
let root: typeof import("@/server/api/root");
const BASE = "http://localhost:3999";

beforeAll(async () => {
  let url: string;
  ({ db, url, dir } = await createTestDb());
  // The HTTP handlers read configuration from the environment, once.
  process.env.DATABASE_URL = url;
  process.env.DATA_DIR = dir;
  process.env.REDIS_URL = inject("redisUrl");
  process.env.LOGIN_MAX_DELAY_MS = "1500";
  http = await import("@/server/api/http");
  root = await import("@/server/api/root");
  viewer = await makeUser(db, "viewer");
  admin = await makeUser(db, "admin");
});
afterAll(() => db.$disconnect());

function procedures(router: AnyRouter): Array<[string, AnyProcedure]> {
  return Object.entries(router._def.procedures as Record<string, AnyProcedure>);
}

/** The check the suite relies on, exported so a test can show it catches a missing rule. */
function proceduresWithoutAccessRule(router: AnyRouter): string[] {
  return procedures(router)
    .filter(([, p]) => !(p._def.meta as { access?: string } | undefined)?.access)
    .map(([name]) => name);
}

const accessOf = (p: AnyProcedure) => (p._def.meta as { access: string }).access;

async function callTrpc(name: string, type: string, opts: { cookie?: string; bearer?: string; ip?: string; input?: unknown; origin?: string | null; csrf?: boolean } = {}) {
  const headers = new Headers({ host: "localhost:3999", "x-rampart-client-ip": opts.ip ?? "10.9.9.9" });
  if (opts.cookie) headers.set("cookie", opts.cookie);
  if (opts.bearer) headers.set("authorization", `Bearer ${opts.bearer}`);
  const input = encodeURIComponent(JSON.stringify({ json: opts.input }));
  if (type === "mutation") {
    headers.set("content-type", "application/json");
    if (opts.csrf !== false) headers.set("x-rampart-csrf", "1");
    if (opts.origin !== null) headers.set("origin", opts.origin ?? BASE);
    return http.handleTrpc(new Request(`${BASE}/api/trpc/${name}`, { method: "POST", headers, body: JSON.stringify({ json: opts.input }) }));
  }
  if (type === "subscription") headers.set("accept", "text/event-stream");
  return http.handleTrpc(new Request(`${BASE}/api/trpc/${name}?input=${input}`, { headers }));
}

/** The HTTP status a call ends with; for SSE, the status carried by its first error event. */
async function statusOf(res: Response): Promise<number> {
  if (!res.headers.get("content-type")?.includes("text/event-stream")) return res.status;
  const reader = res.body!.getReader();
  let text = "";
  const until = Date.now() + 5000;
  while (Date.now() < until) {
    const { value, done } = await reader.read();
    if (done) break;
    text += Buffer.from(value).toString();
    const m = /"httpStatus":(\d+)/.exec(text);
    if (m) {
      await reader.cancel();
      return Number(m[1]);
    }
    if (/\ndata: \{"json":\{"runId"/.test(text)) break;
  }
  await reader.cancel();
  return res.status;
}

describe("every tRPC procedure", () => {
  it("declares an access rule", () => {
    expect(proceduresWithoutAccessRule(root.appRouter)).toEqual([]);
    expect(procedures(root.appRouter).length).toBeGreaterThan(15);
  });

  it("a procedure added without an access rule is caught by this check and refused at run time", async () => {
    const { router, unguardedProcedureForTests, createCallerFactory } = await import("@/server/api/trpc");
    const { contextFor } = await import("../support/auth");
    const bad = router({ leak: unguardedProcedureForTests.query(() => "secret") });
    expect(proceduresWithoutAccessRule(bad)).toEqual(["leak"]);
    await expect(createCallerFactory(bad)(contextFor(db, admin.principal)).leak()).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("answers 401 to a caller who is not signed in, unless it is public", async () => {
    const results: Record<string, number> = {};
    for (const [name, p] of procedures(root.appRouter)) {
      if (accessOf(p) === "public") continue;
      results[name] = await statusOf(await callTrpc(name, p._def.type));
    }
    expect(Object.entries(results).filter(([, s]) => s !== 401)).toEqual([]);
  });

  it("answers 401 to a Bearer token that does not exist", async () => {
    const res = await callTrpc("runs.list", "query", { bearer: "rp_not-a-real-token-at-all-000000000000" });
    expect(res.status).toBe(401);
  });

  it("answers 403 to a viewer calling any mutation that needs more than reading", async () => {
    const results: Record<string, number> = {};
    for (const [name, p] of procedures(root.appRouter)) {
      if (p._def.type !== "mutation" || ["public", "signedIn", "read"].includes(accessOf(p))) continue;
      results[name] = await statusOf(await callTrpc(name, "mutation", { cookie: viewer.cookie }));
    }
    expect(Object.keys(results).sort()).toEqual([
      "acme.createAccount",
      "acme.deleteAccount",
      "acme.directory",
      "acme.order",
      "acme.removeSite",
      "acme.setSite",
      "certificates.issueSite",
      "certificates.uploadSite",
      "databases.promote",
      "firewall.addRule",
      "firewall.deleteRule",
      "firewall.setSettings",
      "firewall.updateRule",
      "monitoring.expireSilence",
      "monitoring.silence",
      "monitoring.updateAlertRule",
      "runs.cancel",
      "runs.confirm",
      "runs.retry",
      "runs.startSampleOperation",
      "runs.startSystemCheck",
      "servers.acceptHostKey",
      "servers.check",
      "servers.create",
      "servers.delete",
      "servers.pinHostKey",
      "servers.repinHostKey",
      "servers.update",
      "sshKeys.delete",
      "sshKeys.generate",
      "sshKeys.import",
      "topologies.approveMembers",
      "topologies.create",
      "topologies.delete",
      "topologies.setApp",
      "topologies.setDrained",
      "topologies.startApply",
      "topologies.startPlan",
      "topologies.update",
      "topologies.uploadArtifact",
      "users.invite",
      "users.reinvite",
      "users.setDisabled",
      "users.setRole",
    ]);
    expect(Object.entries(results).filter(([, s]) => s !== 403)).toEqual([]);
  });

  it("the only mutations a viewer may call act on their own account and tokens", () => {
    const open = procedures(root.appRouter)
      .filter(([, p]) => p._def.type === "mutation" && ["signedIn", "read"].includes(accessOf(p)))
      .map(([n]) => n)
      .sort();
    expect(open).toEqual(["auth.changePassword", "auth.logout", "tokens.create", "tokens.revoke"]);
  });
});

describe("every REST route", () => {
  const ops = () => {
    const doc = http.openApiDocument(`${BASE}/api/v1`) as unknown as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    return Object.entries(doc.paths).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => ({ path: p, method: m.toUpperCase(), op })));
  };
  const concrete = (p: string) => p.replace(/\{[^}]+\}/g, "x1");

  it("is listed in the OpenAPI document built from the routers", () => {
    const paths = ops().map((o) => `${o.method} ${o.path}`);
    expect(paths).toEqual(
      expect.arrayContaining(["GET /runs", "POST /runs/system-check", "GET /runs/{id}/phases", "POST /runs/{id}/confirm", "GET /users", "POST /tokens", "DELETE /tokens/{id}", "GET /audit"]),
    );
  });

  it("answers 401 without credentials, unless public", async () => {
    const results: Record<string, number> = {};
    for (const { path: p, method, op } of ops()) {
      if (!op.security) continue;
      const res = await http.handleRest(
        new Request(`${BASE}/api/v1${concrete(p)}`, { method, headers: { host: "localhost:3999", "content-type": "application/json" }, body: method === "GET" ? undefined : "{}" }),
      );
      results[`${method} ${p}`] = res.status;
    }
    expect(Object.keys(results).length).toBeGreaterThanOrEqual(10);
    expect(Object.entries(results).filter(([, s]) => s !== 401)).toEqual([]);
  });

  it("answers 403 to a read-scoped token on every route that changes infrastructure or users", async () => {
    const { createToken } = await import("@/server/services/tokens");
    const token = (await createToken(db, admin.principal, { name: "read", scope: "read", expiresInDays: 1 })).token;
    const results: Record<string, number> = {};
    for (const { path: p, method } of ops()) {
      if (method === "GET" || p.startsWith("/tokens")) continue;
      const res = await http.handleRest(
        new Request(`${BASE}/api/v1${concrete(p)}`, { method, headers: { host: "localhost:3999", authorization: `Bearer ${token}`, "content-type": "application/json" }, body: "{}" }),
      );
      results[`${method} ${p}`] = res.status;
    }
    expect(Object.entries(results).filter(([, s]) => s !== 403)).toEqual([]);
  });
});

describe("CSRF", () => {
  it("refuses a cross-origin POST that carries a valid session cookie", async () => {
    const res = await callTrpc("runs.startSystemCheck", "mutation", { cookie: admin.cookie, input: {}, origin: "https://evil.example" });
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/origin https:\/\/evil.example is not allowed/);
  });

  it("refuses a cookie POST without the custom header (a plain HTML form cannot send it)", async () => {
    const res = await callTrpc("auth.logout", "mutation", { cookie: admin.cookie, csrf: false });
    expect(res.status).toBe(403);
  });

  it("refuses a cookie POST with no Origin", async () => {
    expect((await callTrpc("auth.logout", "mutation", { cookie: admin.cookie, origin: null })).status).toBe(403);
  });

  it("accepts the same request from the console's own origin", async () => {
    const other = await makeUser(db, "viewer");
    expect((await callTrpc("auth.logout", "mutation", { cookie: other.cookie })).status).toBe(200);
  });

  it("never changes state on GET: a mutation called with GET is refused", async () => {
    const res = await callTrpc("auth.logout", "query", { cookie: admin.cookie });
    expect(res.status).toBe(405);
  });
});

describe("login", () => {
  const login = (email: string, password: string, ip: string) => callTrpc("auth.login", "mutation", { input: { email, password }, ip });

  it("sets an HttpOnly, SameSite=Lax session cookie", async () => {
    const u = await makeUser(db, "viewer");
    const res = await login(u.user.email, u.password, "10.1.1.1");
    expect(res.status).toBe(200);
    const cookie = res.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^rampart_session=[\w-]{40,}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
  });

  it("throttles twenty wrong passwords in a minute, and the right one works again after a bounded delay", async () => {
    const u = await makeUser(db, "operator");
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await login(u.user.email, `wrong password ${i}`, "10.2.2.2")).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
    const throttled = await login(u.user.email, u.password, "10.2.2.2");
    expect(throttled.status).toBe(429);
    expect(await throttled.text()).toMatch(/try again in \d+ s/);

    // Someone guessing from another address does not lock the real user out.
    expect((await login(u.user.email, u.password, "10.3.3.3")).status).toBe(200);

    // From the throttled address, the right password works once the (bounded) delay has passed.
    await new Promise((r) => setTimeout(r, 1600));
    expect((await login(u.user.email, u.password, "10.2.2.2")).status).toBe(200);

    // 21 refusals from 10.2.2.2 in a minute: 20 entries, the 21st counted in the minute's summary.
    const denied = await db.auditEntry.count({ where: { action: "auth.login", target: u.user.email, outcome: "denied" } });
    expect(denied).toBe(20);
    const { flushAllDenied } = await import("@/server/auth/audit");
    await flushAllDenied(true);
    const summary = await db.auditEntry.findFirst({ where: { action: "audit.suppressed", target: "10.2.2.2" } });
    expect(JSON.parse(summary!.detail)).toMatchObject({ count: 1, actions: { "auth.login": 1 } });
  });

  it("says the same for an unknown email as for a wrong password", async () => {
    const res = await login("nobody@example.test", "whatever password", "10.4.4.4");
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/Wrong email or password/);
  });
});

describe("API tokens and secrets at rest", () => {
  it("a token works on REST, and is refused after revocation and after expiry", async () => {
    const { createToken, revokeToken } = await import("@/server/services/tokens");
    const get = (token: string) => http.handleRest(new Request(`${BASE}/api/v1/runs`, { headers: { authorization: `Bearer ${token}`, host: "localhost:3999" } }));
    const t = await createToken(db, admin.principal, { name: "ci", scope: "read", expiresInDays: 30 });
    expect(t.token).toMatch(/^rp_[\w-]{43}$/);
    expect((await get(t.token)).status).toBe(200);
    await revokeToken(db, admin.principal, t.id);
    expect((await get(t.token)).status).toBe(401);

    const t2 = await createToken(db, admin.principal, { name: "short", scope: "read", expiresInDays: 1 });
    expect((await get(t2.token)).status).toBe(200);
    await db.apiToken.update({ where: { id: t2.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await get(t2.token)).status).toBe(401);
  });

  it("a token never grants more than its owner's role", async () => {
    const { createToken } = await import("@/server/services/tokens");
    await expect(createToken(db, viewer.principal, { name: "x", scope: "operate", expiresInDays: 1 })).rejects.toMatchObject({ code: "BAD_REQUEST", field: "scope" });
  });

  it("the database files contain no token, session or password in clear", async () => {
    const { createToken } = await import("@/server/services/tokens");
    const secretPassword = "a very secret password 12345";
    const u = await makeUser(db, "admin", "dump@example.test", secretPassword);
    const t = await createToken(db, u.principal, { name: "dump", scope: "admin", expiresInDays: 1 });
    const dump = await databaseDump();
    expect(dump).toContain("dump@example.test"); // the dump is real
    for (const secret of [t.token, t.token.slice(3), secretPassword, u.sessionToken]) expect(dump.includes(secret)).toBe(false);
  });
});

/**
 * Everything the database holds. SQLite: the bytes of its files (free pages and the
 * WAL included). PostgreSQL: every row of every table, as text.
 */
async function databaseDump(): Promise<string> {
  if (testDbProvider() === "postgresql") {
    const tables = await db.$queryRawUnsafe<Array<{ name: string }>>("SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = 'public'");
    const rows: string[] = [];
    for (const { name } of tables) rows.push(...(await db.$queryRawUnsafe<Array<{ row: string }>>(`SELECT t::text AS row FROM "${name}" t`)).map((r) => r.row));
    return rows.join("\n");
  }
  await db.$queryRawUnsafe("PRAGMA wal_checkpoint(FULL)");
  return ["rampart.db", "rampart.db-wal"]
    .map((f) => {
      try {
        return readFileSync(path.join(dir, f)).toString("latin1");
      } catch {
        return "";
      }
    })
    .join("");
}

describe("audit log", () => {
  it("is append-only: the database refuses updates and deletes", async () => {
    const { recordAudit, SYSTEM_ACTOR } = await import("@/server/auth/audit");
    await recordAudit(db, { actor: SYSTEM_ACTOR, action: "test.append", outcome: "ok" });
    await expect(db.auditEntry.updateMany({ data: { outcome: "error" } })).rejects.toThrow(/append-only/);
    await expect(db.auditEntry.deleteMany({})).rejects.toThrow(/append-only/);
  });

  it("a flood of denied calls writes bounded rows: 20 a minute per source (an IPv6 /64 is one), the rest counted in one summary", async () => {
    const { flushAllDenied } = await import("@/server/auth/audit");
    const attempt = (ip: string) => callTrpc("servers.delete", "mutation", { input: { id: "nope" }, ip });
    for (let i = 0; i < 100; i++) expect((await attempt("10.66.0.1")).status).toBe(401);
    for (let i = 1; i <= 50; i++) expect((await attempt(`2001:db8:66:1::${i.toString(16)}`)).status).toBe(401);
    const rows = (ip: object) => db.auditEntry.count({ where: { action: "servers.delete", outcome: "denied", ip } });
    expect(await rows({ equals: "10.66.0.1" })).toBe(20);
    expect(await rows({ startsWith: "2001:db8:66:1:" })).toBe(20);
    // The minute's summary (written when it ends; here, forced).
    await flushAllDenied(true);
    const summaries = await db.auditEntry.findMany({ where: { action: "audit.suppressed" } });
    const bySource = Object.fromEntries(summaries.map((e) => [e.target, JSON.parse(e.detail) as { count: number; actions: Record<string, number> }]));
    expect(bySource["10.66.0.1"]).toMatchObject({ count: 80, actions: { "servers.delete": 80 } });
    expect(bySource["2001:db8:66:1::/64"]).toMatchObject({ count: 30 });
  });

  it("no code path updates audit entries; only the archive (audit retention) deletes them", () => {
    const hits = spawnSync("grep", ["-rEn", "--exclude-dir=generated", "auditEntry\\.(update|updateMany|delete|deleteMany|upsert)", "server", "workers", "app", "components", "scripts"], {
      encoding: "utf8",
    })
      .stdout.trim()
      .split("\n")
      .filter(Boolean);
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits) expect(h).toMatch(/^workers\/retention\.ts:\d+: +await db\.auditEntry\.deleteMany\(\{ where: \{ id: \{ lte: /);
  });

  it("records who, what, target, where and the outcome of a mutation, with secrets redacted", async () => {
    const res = await callTrpc("tokens.create", "mutation", { cookie: admin.cookie, input: { name: "audited", scope: "read", expiresInDays: 7 }, ip: "10.7.7.7" });
    expect(res.status).toBe(200);
    const entry = await db.auditEntry.findFirstOrThrow({ where: { action: "tokens.create" }, orderBy: { id: "desc" } });
    expect(entry).toMatchObject({ actorLabel: admin.user.email, actorKind: "user", outcome: "ok", ip: "10.7.7.7", target: expect.any(String) });
    const created = (await res.json()).result.data.json.token as string;
    expect(entry.detail).not.toContain(created);
  });
});

describe("live streams", () => {
  /** Opens a run's live stream: `closed` resolves with when it closed. */
  async function follow(auth: { cookie?: string; bearer?: string }, runId: string) {
    const res = await callTrpc("runs.follow", "subscription", { ...auth, input: { id: runId } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const closed = (async () => {
      for (;;) if ((await reader.read()).done) return Date.now();
    })();
    return { closed };
  }
  const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))]);

  it("a run's live stream ends once its session signs out, or its API token is revoked", async () => {
    const { PRINCIPAL_RECHECK_MS } = await import("@/server/auth/principal");
    const run = await db.run.create({ data: { kind: "system-check", requestedBy: "test", status: "running" } });
    const u = await makeUser(db, "viewer");
    const bySession = await follow({ cookie: u.cookie }, run.id);
    const { newSecret, hashSecret } = await import("@/server/auth/tokens");
    const secret = `rp_${newSecret()}`;
    const token = await db.apiToken.create({
      data: { name: "stream", prefix: secret.slice(0, 11), tokenHash: hashSecret(secret), scope: "read", userId: u.user.id, expiresAt: new Date(Date.now() + 3600_000) },
    });
    const byToken = await follow({ bearer: secret }, run.id);
    // Both stay open while the credentials hold.
    expect(await within(bySession.closed, PRINCIPAL_RECHECK_MS + 1000)).toBe("still open");

    const t0 = Date.now();
    expect((await callTrpc("auth.logout", "mutation", { cookie: u.cookie })).status).toBe(200);
    await db.apiToken.update({ where: { id: token.id }, data: { revokedAt: new Date() } });
    const [s, t] = await Promise.all([within(bySession.closed, PRINCIPAL_RECHECK_MS + 3000), within(byToken.closed, PRINCIPAL_RECHECK_MS + 3000)]);
    expect(typeof s === "number" && s - t0).toBeLessThan(PRINCIPAL_RECHECK_MS + 3000);
    expect(typeof t === "number" && t - t0).toBeLessThan(PRINCIPAL_RECHECK_MS + 3000);
  }, 30_000);
});
