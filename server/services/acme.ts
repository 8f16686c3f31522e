// ACME: accounts with certificate authorities, which sites get their certificate
// from one, and each site's renewal state (next attempt, last attempt and outcome,
// failures in a row, the CA's renewal window). The orders themselves run in the
// worker (workers/kinds/certificate-order.ts); this module keeps what they need.
import { X509Certificate } from "node:crypto";
import type { Db } from "../db";
import type { SecretBox } from "../secrets/envelope";
import { type AcmeAccountRef, newAccountKey, problemOf, readDirectory, registerAccount, thumbprintOf } from "../acme/client";
import type { AcmeDirectoryInput, CreateAcmeAccountInput, SetSiteAcmeInput, SiteAcmeDto } from "../schemas/acme";
import { AcmeDirectoryInput as DirectorySchema, CreateAcmeAccountInput as CreateSchema, SetSiteAcmeInput as SetSiteSchema } from "../schemas/acme";
import { ServiceError } from "./errors";
import type { Caller, RunsDeps } from "./runs";
import { memberRoles, startTopologyRun } from "./topologies";

const accountContext = (id: string) => `acme-account:${id}`;

// ---- Accounts

/** What a CA's directory says, for the console to show its terms before an account is made. */
export async function lookupDirectory(input: AcmeDirectoryInput) {
  const v = DirectorySchema.parse(input);
  trustCheck(v.trustPem);
  try {
    return await readDirectory(v);
  } catch (err) {
    throw new ServiceError("BAD_REQUEST", `Could not read the ACME directory: ${problemOf(err)}`, "directoryUrl");
  }
}

function trustCheck(trustPem: string) {
  if (!trustPem) return;
  try {
    new X509Certificate(trustPem);
  } catch {
    throw new ServiceError("BAD_REQUEST", "The CA certificate cannot be read (PEM expected)", "trustPem");
  }
}

type AccountRow = Awaited<ReturnType<Db["acmeAccount"]["findFirstOrThrow"]>> & { sites?: Array<{ topologyId: string; topology: { name: string } }> };

function toAccountDto(r: AccountRow) {
  return {
    id: r.id,
    name: r.name,
    directoryUrl: r.directoryUrl,
    contact: JSON.parse(r.contact) as string[],
    accountUrl: r.accountUrl,
    thumbprint: r.thumbprint,
    termsUrl: r.termsUrl,
    termsAgreedAt: r.termsAgreedAt,
    eabKeyId: r.eabKeyId,
    privateCa: r.trustPem !== "",
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    sites: (r.sites ?? []).map((s) => ({ topologyId: s.topologyId, name: s.topology.name })),
  };
}

export async function listAcmeAccounts(db: Db) {
  const rows = await db.acmeAccount.findMany({ orderBy: { name: "asc" }, include: { sites: { include: { topology: { select: { name: true } } } } } });
  return rows.map(toAccountDto);
}

/**
 * Registers an account with the CA and keeps it (its key sealed). The CA's terms
 * must be accepted explicitly; a CA that requires External Account Binding gets it.
 * Nothing is kept when the CA refuses.
 */
export async function createAcmeAccount(db: Db, box: SecretBox, caller: Caller, input: CreateAcmeAccountInput) {
  const v = CreateSchema.parse(input);
  trustCheck(v.trustPem);
  if (await db.acmeAccount.findUnique({ where: { name: v.name } })) throw new ServiceError("CONFLICT", `An ACME account named ${v.name} already exists`, "name");
  const server = { directoryUrl: v.directoryUrl, trustPem: v.trustPem };
  let dir;
  try {
    dir = await readDirectory(server);
  } catch (err) {
    throw new ServiceError("BAD_REQUEST", `Could not read the ACME directory: ${problemOf(err)}`, "directoryUrl");
  }
  if (dir.externalAccountRequired && !v.eab) throw new ServiceError("BAD_REQUEST", "This CA requires External Account Binding: give the key id and HMAC key it issued you", "eab");
  const keyPem = newAccountKey();
  let accountUrl: string;
  try {
    accountUrl = await registerAccount(
      server,
      keyPem,
      v.contact.map((c) => `mailto:${c}`),
      v.eab ?? undefined,
    );
  } catch (err) {
    throw new ServiceError("BAD_REQUEST", `The CA refused the account: ${problemOf(err)}`, v.eab ? "eab" : "directoryUrl");
  }
  const row = await db.$transaction(async (tx) => {
    const created = await tx.acmeAccount.create({
      data: {
        name: v.name,
        directoryUrl: v.directoryUrl,
        contact: JSON.stringify(v.contact.map((c) => `mailto:${c}`)),
        keyEnc: "",
        accountUrl,
        thumbprint: thumbprintOf(keyPem),
        termsUrl: dir.termsOfService ?? "",
        termsAgreedAt: new Date(),
        eabKeyId: v.eab?.kid ?? null,
        trustPem: v.trustPem,
        createdBy: caller.name,
      },
    });
    return tx.acmeAccount.update({ where: { id: created.id }, data: { keyEnc: box.encrypt(keyPem, accountContext(created.id)) } });
  });
  return toAccountDto({ ...row, sites: [] });
}

export async function deleteAcmeAccount(db: Db, id: string) {
  const row = await db.acmeAccount.findUnique({ where: { id }, include: { sites: { include: { topology: { select: { name: true } } } } } });
  if (!row) throw new ServiceError("NOT_FOUND", `No ACME account with id ${id}`, "id");
  if (row.sites.length > 0)
    throw new ServiceError("CONFLICT", `${row.sites.map((s) => s.topology.name).join(", ")} get their certificate with this account: choose another account for them first`, "id");
  await db.acmeAccount.delete({ where: { id } });
  return { id };
}

/** The account as the worker needs it to talk to the CA (its key decrypted: never returned to a client). */
export async function acmeAccountRef(db: Db, box: SecretBox, id: string): Promise<AcmeAccountRef & { id: string; thumbprint: string; name: string; contact: string[] }> {
  const row = await db.acmeAccount.findUniqueOrThrow({ where: { id } });
  return {
    id: row.id,
    name: row.name,
    contact: JSON.parse(row.contact) as string[],
    directoryUrl: row.directoryUrl,
    trustPem: row.trustPem,
    accountUrl: row.accountUrl,
    thumbprint: row.thumbprint,
    accountKeyPem: box.decrypt(row.keyEnc, accountContext(row.id)).reveal(),
  };
}

// ---- Sites

type SiteRow = Awaited<ReturnType<Db["acmeSite"]["findFirstOrThrow"]>> & { account: { name: string }; topology: { name: string } };

export function toSiteDto(r: SiteRow): SiteAcmeDto {
  return {
    topologyId: r.topologyId,
    siteName: r.topology.name,
    accountId: r.accountId,
    accountName: r.account.name,
    extraNames: JSON.parse(r.extraNames) as string[],
    keyType: r.keyType === "rsa-2048" ? "rsa-2048" : "ecdsa-p256",
    nextAttemptAt: r.nextAttemptAt,
    lastAttemptAt: r.lastAttemptAt,
    lastOutcome: r.lastOutcome === "succeeded" || r.lastOutcome === "failed" ? r.lastOutcome : null,
    lastError: r.lastError,
    failures: r.failures,
    ariWindow: r.ariStart && r.ariEnd ? { start: r.ariStart, end: r.ariEnd } : null,
    lastRunId: r.lastRunId,
  };
}

const siteInclude = { account: { select: { name: true } }, topology: { select: { name: true } } } as const;

export async function listAcmeSites(db: Db) {
  return (await db.acmeSite.findMany({ include: siteInclude, orderBy: { topologyId: "asc" } })).map(toSiteDto);
}

/** The names a site's ACME certificate is for: the site's own name first. */
export const orderNames = (siteName: string, extraNames: readonly string[]) => [siteName, ...extraNames.filter((n) => n !== siteName)];

/** Sets where a site's certificate comes from; the next order (or renewal) uses it. Changes nothing on the servers until then. */
export async function setSiteAcme(db: Db, input: SetSiteAcmeInput) {
  const v = SetSiteSchema.parse(input);
  const t = await db.topology.findUnique({ where: { id: v.topologyId } });
  if (!t) throw new ServiceError("NOT_FOUND", `No topology with id ${v.topologyId}`, "topologyId");
  if (!(await db.acmeAccount.findUnique({ where: { id: v.accountId } }))) throw new ServiceError("BAD_REQUEST", `No ACME account with id ${v.accountId}`, "accountId");
  const extra = [...new Set(v.extraNames)].filter((n) => n !== t.name);
  const data = { accountId: v.accountId, extraNames: JSON.stringify(extra), keyType: v.keyType };
  const row = await db.acmeSite.upsert({ where: { topologyId: t.id }, create: { topologyId: t.id, ...data }, update: data, include: siteInclude });
  return toSiteDto(row);
}

/** The site stops getting its certificate from ACME (the current one keeps serving until replaced). */
export async function removeSiteAcme(db: Db, topologyId: string) {
  const n = await db.acmeSite.deleteMany({ where: { topologyId } });
  if (n.count === 0) throw new ServiceError("NOT_FOUND", "This site does not get its certificate from ACME", "topologyId");
  return { topologyId };
}

/** Starts an order: a first certificate, a renewal now, or a replacement (the old one revoked once the new one serves). */
export async function startCertificateOrder(deps: RunsDeps, caller: Caller, input: { topologyId: string; reason: "order" | "renew" | "replace" }) {
  const site = await deps.db.acmeSite.findUnique({ where: { topologyId: input.topologyId } });
  if (!site) throw new ServiceError("BAD_REQUEST", "Choose an ACME account for this site first", "topologyId");
  const members = await deps.db.topologyMember.findMany({ where: { topologyId: input.topologyId } });
  if (!members.some((m) => memberRoles(m).includes("load-balancer"))) throw new ServiceError("BAD_REQUEST", "The site has no load balancer to answer the CA's HTTP-01 challenges", "topologyId");
  return startTopologyRun(deps, caller, input.topologyId, "certificate-order", undefined, { input: { reason: input.reason } });
}

// ---- Renewal state

/** Backoff after failures in a row: base · 2^(n−1), at most max, with ±20 % jitter; never sooner than the CA's Retry-After. */
export function retryDelayS(failures: number, opts: { baseS: number; maxS: number; retryAfterS?: number | null; random?: () => number }): number {
  const exp = Math.min(opts.maxS, opts.baseS * 2 ** Math.max(0, failures - 1));
  const jittered = exp * (0.8 + 0.4 * (opts.random ?? Math.random)());
  return Math.max(1, Math.round(Math.max(jittered, opts.retryAfterS ?? 0)));
}

/** When a certificate is due without ARI: once a third of its lifetime remains. */
export const dueByLifetime = (c: { notBefore: Date; notAfter: Date }) => new Date(c.notAfter.getTime() - (c.notAfter.getTime() - c.notBefore.getTime()) / 3);

export async function recordAttemptFailed(db: Db, topologyId: string, runId: string, error: string, opts: { baseS: number; maxS: number; retryAfterS?: number | null; now?: Date }) {
  const now = opts.now ?? new Date();
  const site = await db.acmeSite.findUnique({ where: { topologyId } });
  if (!site) return null;
  const failures = site.failures + 1;
  const delay = retryDelayS(failures, opts);
  return db.acmeSite.update({
    where: { topologyId },
    data: { failures, lastAttemptAt: now, lastOutcome: "failed", lastError: error.slice(0, 2000), nextAttemptAt: new Date(now.getTime() + delay * 1000), lastRunId: runId },
  });
}

export async function recordAttemptSucceeded(db: Db, topologyId: string, runId: string, cert: { notBefore: Date; notAfter: Date }, now = new Date()) {
  return db.acmeSite.update({
    where: { topologyId },
    data: { failures: 0, lastAttemptAt: now, lastOutcome: "succeeded", lastError: null, nextAttemptAt: dueByLifetime(cert), ariStart: null, ariEnd: null, lastRunId: runId },
  });
}
