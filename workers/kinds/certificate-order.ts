// An ACME order for a site's certificate, as an operation: a first certificate
// (operator), a renewal (the scheduler, or "renew now") or a replacement (the old
// certificate revoked once the new one serves). Phases:
//
//   challenge answers: every load balancer answers HTTP-01 with the account's
//     thumbprint (checked from here with a probe token); if one does not, the
//     topology is applied first (its HAProxy configuration carries the thumbprint).
//   order: the CA validates, issues; the certificate is stored only then.
//   deploy: an apply with HAProxy's configuration check and a zero-downtime reload,
//     whose checks record what each load balancer serves (it must be the new one).
//   revoke previous: only for a replacement.
//
// A failed attempt (before the certificate is stored) is recorded on the site with
// the next retry (exponential backoff with jitter, never sooner than Retry-After);
// the working certificate is never touched by a failure.
import http from "node:http";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { OrderReason } from "@/server/schemas/acme";
import { ariCertId, CHALLENGE_PATH, keyAuthorization, orderCertificate, problemOf, retryAfterOf, revokeCertificate } from "@/server/acme/client";
import { acmeAccountRef, orderNames, recordAttemptFailed, recordAttemptSucceeded } from "@/server/services/acme";
import { currentSiteCertificate, storeAcmeCertificate } from "@/server/services/certificates";
import { memberRoles } from "@/server/services/topologies";
import { defineOperation, holdTopologyHosts, type OperationContext } from "../operations";
import { applyUnderHeldLocks } from "./topology";
import type { KindResult } from "./types";

export const CertificateOrderInput = z.object({ topologyId: z.string().min(1), reason: OrderReason.default("order") });
type Input = z.infer<typeof CertificateOrderInput>;
type Ctx = OperationContext<Input>;

const LOCK_WAIT_MS = 120_000;
const PROBE_TIMEOUT_MS = 5000;

async function loadSite(ctx: Ctx) {
  const t = await ctx.db.topology.findUnique({ where: { id: ctx.input.topologyId }, include: { acme: true, members: { include: { server: true } } } });
  if (!t) throw new Error("the topology has been deleted");
  if (!t.acme) throw new Error("the site no longer gets its certificate from ACME (its ACME account was removed)");
  const lbs = t.members.filter((m) => memberRoles(m).includes("load-balancer")).map((m) => ({ name: m.server.name, address: m.server.address }));
  return { t, site: t.acme, lbs };
}

/** What a load balancer answers for a challenge token (its body, or why there is none). */
function probeChallenge(address: string, siteName: string, token: string): Promise<{ ok: boolean; said: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: address, port: 80, path: `${CHALLENGE_PATH}${token}`, headers: { host: siteName, connection: "close" }, timeout: PROBE_TIMEOUT_MS, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c.slice(0, 512)));
      res.on("end", () => resolve({ ok: res.statusCode === 200, said: `HTTP ${res.statusCode}: ${body.trim().slice(0, 120)}` }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`)));
    req.on("error", (err) => resolve({ ok: false, said: err.message }));
  });
}

async function wrongAnswers(ctx: Ctx, lbs: Array<{ name: string; address: string }>, siteName: string, thumbprint: string) {
  const token = randomBytes(16).toString("base64url");
  const want = keyAuthorization(token, thumbprint);
  const wrong: string[] = [];
  for (const lb of lbs) {
    const r = await probeChallenge(lb.address, siteName, token);
    if (r.ok && r.said.endsWith(want)) await ctx.reporter.info(`answers HTTP-01 challenges for this account`, lb.name);
    else wrong.push(`${lb.name} (${r.said})`);
  }
  return wrong;
}

/** Records a failed attempt on the site (next retry with backoff) and rethrows. */
async function attempt<T>(ctx: Ctx, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!ctx.signal.aborted) {
      const reason = problemOf(err);
      const row = await recordAttemptFailed(ctx.db, ctx.input.topologyId, ctx.runId, reason, { baseS: ctx.env.ACME_RETRY_BASE_S, maxS: ctx.env.ACME_RETRY_MAX_S, retryAfterS: retryAfterOf(err) });
      if (row?.nextAttemptAt) await ctx.reporter.warn(`attempt failed (${row.failures} in a row); the working certificate keeps serving; next attempt at ${row.nextAttemptAt.toISOString()}`);
      throw new Error(reason);
    }
    throw err;
  }
}

export const certificateOrder = defineOperation({
  input: CertificateOrderInput,
  hold: (ctx) => holdTopologyHosts(ctx, ctx.input.topologyId, LOCK_WAIT_MS),
  phases: [
    {
      name: "challenge answers",
      run: (ctx) =>
        attempt(ctx, async () => {
          const { t, site, lbs } = await loadSite(ctx);
          if (lbs.length === 0) throw new Error("the site has no load balancer to answer the CA's HTTP-01 challenges");
          const account = await ctx.db.acmeAccount.findUniqueOrThrow({ where: { id: site.accountId } });
          let wrong = await wrongAnswers(ctx, lbs, t.name, account.thumbprint);
          let applied = false;
          if (wrong.length > 0) {
            await ctx.reporter.info(`Not answering for account ${account.name} yet: ${wrong.join("; ")}. Applying the topology first`);
            const r = await applyUnderHeldLocks(ctx, ctx.held!, t.id);
            if (r.status === "failed") throw new Error(`the apply that sets up the challenge answers failed: ${r.outcome}`);
            applied = true;
            wrong = await wrongAnswers(ctx, lbs, t.name, account.thumbprint);
            if (wrong.length > 0) throw new Error(`these load balancers do not answer HTTP-01 challenges: ${wrong.join("; ")}`);
          }
          return { loadBalancers: lbs.map((l) => l.name), applied };
        }),
    },
    {
      name: "order",
      run: (ctx) =>
        attempt(ctx, async () => {
          const { t, site } = await loadSite(ctx);
          const account = await acmeAccountRef(ctx.db, ctx.box, site.accountId);
          const names = orderNames(t.name, JSON.parse(site.extraNames) as string[]);
          const previous = await currentSiteCertificate(ctx.db, t.id);
          // ARI: a renewal says which certificate it replaces (sent only when the CA offers ARI).
          let replaces: string | null = null;
          if (previous?.source === "acme" && ctx.input.reason !== "order") {
            try {
              replaces = ariCertId(previous.certPem);
            } catch {
              replaces = null;
            }
          }
          await ctx.reporter.info(`Ordering from ${account.directoryUrl} with account ${account.name}: ${names.join(", ")} (${site.keyType})`);
          const issued = await orderCertificate(account, {
            names,
            keyType: site.keyType === "rsa-2048" ? "rsa-2048" : "ecdsa-p256",
            replaces,
            signal: ctx.signal,
            progress: async (l) => void (await ctx.reporter.info(l)),
            onAccountUrl: async (url) => void (await ctx.db.acmeAccount.update({ where: { id: account.id }, data: { accountUrl: url } })),
          });
          ctx.reporter.addSecret(issued.keyPem);
          const cert = await storeAcmeCertificate(ctx.db, ctx.box, { topologyId: t.id, siteName: t.name, fullchainPem: issued.fullchainPem, keyPem: issued.keyPem, createdBy: ctx.requestedBy });
          await recordAttemptSucceeded(ctx.db, t.id, ctx.runId, cert);
          await ctx.reporter.info(`Stored the new certificate ${cert.fingerprint} (${cert.issuer}), valid until ${cert.notAfter.toISOString()}`);
          return { certificateId: cert.id, fingerprint: cert.fingerprint, notAfter: cert.notAfter.toISOString(), previousId: previous?.id ?? null, previousSource: previous?.source ?? null };
        }),
    },
    {
      name: "deploy",
      async run(ctx) {
        const r = await applyUnderHeldLocks(ctx, ctx.held!, ctx.input.topologyId);
        return { status: r.status, outcome: r.outcome };
      },
    },
    {
      name: "revoke previous",
      async run(ctx, state) {
        const order = state["order"] as { previousId: string | null; previousSource: string | null } | null;
        if (ctx.input.reason !== "replace") return { revoked: false, why: "not a replacement" };
        if (!order?.previousId || order.previousSource !== "acme") return { revoked: false, why: "the previous certificate was not from ACME" };
        if ((state["deploy"] as { status?: string } | null)?.status !== "succeeded") return { revoked: false, why: "the new certificate is not serving everywhere yet: the old one is not revoked" };
        const prev = await ctx.db.certificate.findUniqueOrThrow({ where: { id: order.previousId } });
        const { site } = await loadSite(ctx);
        await revokeCertificate(await acmeAccountRef(ctx.db, ctx.box, site.accountId), prev.certPem);
        await ctx.reporter.info(`Revoked the previous certificate ${prev.fingerprint}`);
        return { revoked: true, fingerprint: prev.fingerprint };
      },
    },
  ],
  outcome(_ctx, state): KindResult {
    const order = state["order"] as { fingerprint: string; notAfter: string } | null;
    const deploy = state["deploy"] as { status: KindResult["status"]; outcome: string } | null;
    const revoke = state["revoke previous"] as { revoked: boolean } | null;
    const what = `issued ${order?.fingerprint.slice(0, 23)}… (until ${order?.notAfter.slice(0, 10)})`;
    if (deploy?.status !== "succeeded") return { status: deploy?.status === "partial" ? "partial" : "failed", outcome: `${what}; deploying it: ${deploy?.outcome ?? "did not run"}` };
    return { status: "succeeded", outcome: `${what}, deployed and served${revoke?.revoked ? "; the previous one is revoked" : ""}` };
  },
});
