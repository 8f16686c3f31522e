// Certificates: Rampart's internal CA, the site certificates (uploaded or from the
// CA), and the backends' certificates (from the CA, re-issued before two-thirds of
// their lifetime). Private keys are encrypted at rest and never leave the server side.
import { randomUUID } from "node:crypto";
import type { Db } from "../db";
import { env } from "../env";
import type { SecretBox } from "../secrets/envelope";
import { createCa, issueServerCert, needsRenewal, sameNames, validateUpload, type ValidUpload } from "../pki/x509";
import { ServiceError } from "./errors";
import { listAcmeSites } from "./acme";
import type { Caller } from "./runs";

const CA_ID = "internal";
const caContext = () => `ca:${CA_ID}`;
const certContext = (id: string) => `certificate:${id}`;
/** Lifetime of the certificates the internal CA issues. */
export const INTERNAL_CERT_DAYS = 30;

export interface CaMaterial {
  certPem: string;
  keyPem: string;
  fingerprint: string;
}

/** The internal CA, created (once) on first use. */
export async function ensureCa(db: Db, box: SecretBox): Promise<CaMaterial> {
  const row = await db.certificateAuthority.findUnique({ where: { id: CA_ID } });
  if (row) return { certPem: row.certPem, keyPem: box.decrypt(row.keyEnc, caContext()).reveal(), fingerprint: row.fingerprint };
  // Constrained (INTERNAL_CA_PERMITTED_NAMES) from birth: a CA certificate cannot be changed later.
  const ca = await createCa("Rampart internal CA", new Date(), 10, env().INTERNAL_CA_PERMITTED_NAMES);
  try {
    await db.certificateAuthority.create({
      data: { id: CA_ID, certPem: ca.certPem, keyEnc: box.encrypt(ca.keyPem, caContext()), fingerprint: ca.fingerprint, notBefore: ca.notBefore, notAfter: ca.notAfter },
    });
  } catch {
    return ensureCa(db, box); // another process created it first: use that one
  }
  return { certPem: ca.certPem, keyPem: ca.keyPem, fingerprint: ca.fingerprint };
}

type CertRow = Awaited<ReturnType<Db["certificate"]["findFirstOrThrow"]>>;

const current = (db: Db, where: { topologyId?: string; serverId?: string; purpose: "site" | "backend" | "collector" }) =>
  db.certificate.findFirst({ where: { ...where, replacedAt: null }, orderBy: { createdAt: "desc" } });

async function store(
  db: Db,
  box: SecretBox,
  data: {
    purpose: "site" | "backend" | "collector";
    source: "internal" | "uploaded" | "acme";
    topologyId?: string;
    serverId?: string;
    names: string[];
    certPem: string;
    chainPem: string;
    keyPem: string;
    fingerprint: string;
    issuer: string;
    notBefore: Date;
    notAfter: Date;
    createdBy: string;
  },
): Promise<CertRow> {
  const id = randomUUID();
  const { keyPem, names, ...rest } = data;
  return db.$transaction(async (tx) => {
    await tx.certificate.updateMany({
      where: { purpose: data.purpose, replacedAt: null, ...(data.topologyId ? { topologyId: data.topologyId } : { serverId: data.serverId }) },
      data: { replacedAt: new Date() },
    });
    return tx.certificate.create({ data: { id, ...rest, names: JSON.stringify(names), keyEnc: box.encrypt(keyPem, certContext(id)) } });
  });
}

const usable = (row: CertRow | null, names: string[], now: Date) => !!row && sameNames(JSON.parse(row.names) as string[], names) && !needsRenewal(row, now) && row.notAfter > now;

/**
 * A backend's certificate from the internal CA for these names, issued or
 * re-issued when needed. With `store: false` (a plan, which must change nothing)
 * a due certificate is made in memory only: the plan shows the file changing,
 * and the apply issues the one it deploys.
 */
export const ensureBackendCert = (db: Db, box: SecretBox, ca: CaMaterial, serverId: string, names: string[], now = new Date(), store_ = true) =>
  ensureInternalCert(db, box, ca, { purpose: "backend", serverId }, names, now, store_);

/** The name on Rampart's collector certificate (the client certificate Prometheus scrapes the exporters with). */
export const COLLECTOR_NAME = "rampart-collector";

/**
 * Rampart's collector certificate: the client certificate from the internal CA that
 * the exporters require (one per installation; renewed like a backend's).
 */
export const ensureCollectorCert = (db: Db, box: SecretBox, ca: CaMaterial, now = new Date(), store_ = true) =>
  ensureInternalCert(db, box, ca, { purpose: "collector" }, [COLLECTOR_NAME], now, store_);

/** A certificate from the internal CA for these names: the current one while usable, else a new one (stored unless `store_` is false). */
async function ensureInternalCert(db: Db, box: SecretBox, ca: CaMaterial, owner: { purpose: "backend" | "collector"; serverId?: string }, names: string[], now: Date, store_: boolean) {
  const row = await current(db, owner);
  if (usable(row, names, now) && row!.issuer.includes("Rampart internal CA")) return { certPem: row!.certPem, keyPem: box.decrypt(row!.keyEnc, certContext(row!.id)).reveal() };
  const c = await issueServerCert(ca, names, now, INTERNAL_CERT_DAYS);
  if (store_)
    await store(db, box, {
      ...owner,
      source: "internal",
      names,
      certPem: c.certPem,
      chainPem: "",
      keyPem: c.keyPem,
      fingerprint: c.fingerprint,
      issuer: INTERNAL_ISSUER,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      createdBy: "rampart",
    });
  return { certPem: c.certPem, keyPem: c.keyPem };
}

const INTERNAL_ISSUER = "CN=Rampart internal CA, O=Rampart";
const bundleOf = (certPem: string, chainPem: string, keyPem: string) => `${certPem.trim()}\n${chainPem.trim() ? `${chainPem.trim()}\n` : ""}${keyPem.trim()}\n`;

/**
 * The site's certificate bundle for HAProxy (certificate, chain, key). One that
 * Rampart did not issue (uploaded, or from ACME) is used as it is and never replaced
 * by an internal one; when it has expired (or no longer names the site) it is still
 * deployed, with a warning: refusing would stop every apply, and with it the renewal
 * of the backends' certificates. Without one, the internal CA issues one for the
 * site's name and renews it (in memory only when `store` is false, as for backends).
 */
export async function ensureSiteBundle(
  db: Db,
  box: SecretBox,
  ca: CaMaterial,
  topology: { id: string; name: string },
  now = new Date(),
  store_ = true,
): Promise<{ bundle: string; source: string; notAfter: Date; warnings: string[] }> {
  const row = await current(db, { topologyId: topology.id, purpose: "site" });
  const warnings: string[] = [];
  if (row && row.source !== "internal") {
    const names = JSON.parse(row.names) as string[];
    const what = row.source === "acme" ? "ACME certificate" : "uploaded certificate";
    if (row.notAfter <= now)
      warnings.push(
        `the site's ${what} expired on ${row.notAfter.toISOString().slice(0, 10)}: visitors are refused it; it stays deployed until a new one is ${row.source === "acme" ? "issued" : "uploaded"}`,
      );
    if (!names.some((n) => n === topology.name || (n.startsWith("*.") && topology.name.endsWith(n.slice(1)) && topology.name.split(".").length === n.split(".").length)))
      warnings.push(`the site's ${what} is for ${names.join(", ")}, not ${topology.name}: ${row.source === "acme" ? "issue" : "upload"} one for the site's name`);
  } else if (usable(row, [topology.name], now)) {
    // keep it
  } else {
    const c = await issueServerCert(ca, [topology.name], now, INTERNAL_CERT_DAYS);
    if (store_)
      await store(db, box, {
        purpose: "site",
        source: "internal",
        topologyId: topology.id,
        names: [topology.name],
        certPem: c.certPem,
        chainPem: "",
        keyPem: c.keyPem,
        fingerprint: c.fingerprint,
        issuer: INTERNAL_ISSUER,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        createdBy: "rampart",
      });
    return { bundle: bundleOf(c.certPem, "", c.keyPem), source: "internal", notAfter: c.notAfter, warnings };
  }
  return { bundle: bundleOf(row!.certPem, row!.chainPem, box.decrypt(row!.keyEnc, certContext(row!.id)).reveal()), source: row!.source, notAfter: row!.notAfter, warnings };
}

// ---- For the console and the API (no private key ever)

function toDto(r: CertRow) {
  return {
    id: r.id,
    purpose: r.purpose as "site" | "backend" | "collector",
    source: r.source as "internal" | "uploaded" | "acme",
    topologyId: r.topologyId,
    serverId: r.serverId,
    names: JSON.parse(r.names) as string[],
    fingerprint: r.fingerprint,
    issuer: r.issuer,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
    createdAt: r.createdAt,
    createdBy: r.createdBy,
    certPem: r.certPem,
    chainPem: r.chainPem,
  };
}

export interface CertificateAlert {
  kind: "expired" | "expiring" | "renewal-failing";
  certificateId: string | null;
  topologyId: string | null;
  serverId: string | null;
  message: string;
}

/**
 * What needs the operator: a certificate in use that expired or has less than a
 * sixth of its lifetime left (its renewal should have happened by then), and a site
 * whose ACME renewal failed twice or more in a row.
 */
export function certificateAlerts(
  certs: Array<{ id: string; purpose: string; source: string; topologyId: string | null; serverId: string | null; names: string; notBefore: Date; notAfter: Date }>,
  sites: Array<{ topologyId: string; failures: number; lastError: string | null; nextAttemptAt: Date | null }>,
  now = new Date(),
): CertificateAlert[] {
  const alerts: CertificateAlert[] = [];
  for (const c of certs) {
    const what = `the ${c.purpose === "site" ? "site" : c.purpose === "collector" ? "collector's" : "backend"} certificate for ${(JSON.parse(c.names) as string[]).join(", ")} (${c.source})`;
    const left = c.notAfter.getTime() - now.getTime();
    const ref = { certificateId: c.id, topologyId: c.topologyId, serverId: c.serverId };
    if (left <= 0) alerts.push({ kind: "expired", ...ref, message: `${what} expired on ${c.notAfter.toISOString().slice(0, 16).replace("T", " ")} UTC` });
    else if (left < (c.notAfter.getTime() - c.notBefore.getTime()) / 6)
      alerts.push({ kind: "expiring", ...ref, message: `${what} expires in ${humanSpan(left)}, with less than a sixth of its lifetime left` });
  }
  for (const s of sites)
    if (s.failures >= 2)
      alerts.push({
        kind: "renewal-failing",
        certificateId: null,
        topologyId: s.topologyId,
        serverId: null,
        message: `${s.failures} ACME attempts in a row failed${s.lastError ? ` (last: ${s.lastError})` : ""}${s.nextAttemptAt ? `; next attempt ${s.nextAttemptAt.toISOString().slice(0, 16).replace("T", " ")} UTC` : ""}`,
      });
  return alerts;
}

function humanSpan(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (m < 120) return `${m} min`;
  const h = Math.round(m / 60);
  return h < 48 ? `${h} h` : `${Math.round(h / 24)} days`;
}

export async function listCertificates(db: Db) {
  const ca = await db.certificateAuthority.findUnique({ where: { id: CA_ID } });
  const rows = await db.certificate.findMany({ where: { replacedAt: null }, orderBy: [{ purpose: "desc" }, { createdAt: "desc" }] });
  const acme = await listAcmeSites(db);
  const served = await db.servedCertificate.findMany({ include: { server: { select: { name: true } } }, orderBy: [{ serverId: "asc" }, { port: "asc" }] });
  return {
    ca: ca ? { certPem: ca.certPem, fingerprint: ca.fingerprint, notBefore: ca.notBefore, notAfter: ca.notAfter } : null,
    certificates: rows.map(toDto),
    acme,
    alerts: certificateAlerts(rows, acme),
    served: served.map((s) => ({
      serverId: s.serverId,
      serverName: s.server.name,
      port: s.port,
      topologyId: s.topologyId,
      purpose: s.purpose === "site" ? ("site" as const) : ("backend" as const),
      fingerprint: s.fingerprint,
      matches: s.matches,
      checkedAt: s.checkedAt,
    })),
  };
}

/** The internal CA's certificate (public), created if needed, for clients such as curl --cacert. */
export async function caCertificate(db: Db, box: SecretBox) {
  const ca = await ensureCa(db, box);
  return { certPem: ca.certPem, fingerprint: ca.fingerprint };
}

export async function uploadSiteCertificate(db: Db, box: SecretBox, caller: Caller, input: { topologyId: string; certificatePem: string; privateKeyPem: string }) {
  const t = await db.topology.findUnique({ where: { id: input.topologyId } });
  if (!t) throw new ServiceError("NOT_FOUND", `No topology with id ${input.topologyId}`, "topologyId");
  const v = validateUpload({ certificatePem: input.certificatePem, privateKeyPem: input.privateKeyPem, siteName: t.name });
  if (!v.ok) {
    // Every problem, first one on its field; nothing is stored.
    const first = v.problems[0]!;
    throw new ServiceError("BAD_REQUEST", v.problems.map((p) => p.message).join("; "), first.field === "certificate" ? "certificatePem" : "privateKeyPem");
  }
  return toDto(await storeSiteChain(db, box, t.id, "uploaded", v.value, caller.name));
}

/** Makes a validated chain the site's current certificate. */
const storeSiteChain = (db: Db, box: SecretBox, topologyId: string, source: "uploaded" | "acme", v: ValidUpload, createdBy: string) =>
  store(db, box, {
    purpose: "site",
    source,
    topologyId,
    names: v.names,
    certPem: v.leafPem,
    chainPem: v.chainPem,
    keyPem: v.keyPem,
    fingerprint: v.fingerprint,
    issuer: v.issuer,
    notBefore: v.notBefore,
    notAfter: v.notAfter,
    createdBy,
  });

/**
 * Keeps a certificate an ACME CA issued for the site (checked like an upload: the
 * key matches, the chain is in order, it covers the site's name) and makes it the
 * site's current one; the next apply deploys it.
 */
export async function storeAcmeCertificate(db: Db, box: SecretBox, input: { topologyId: string; siteName: string; fullchainPem: string; keyPem: string; createdBy: string }) {
  const v = validateUpload({ certificatePem: input.fullchainPem, privateKeyPem: input.keyPem, siteName: input.siteName });
  if (!v.ok) throw new Error(`the CA's certificate is unusable: ${v.problems.map((p) => p.message).join("; ")}`);
  return toDto(await storeSiteChain(db, box, input.topologyId, "acme", v.value, input.createdBy));
}

/** The site's current certificate (public parts only), or null. */
export async function currentSiteCertificate(db: Db, topologyId: string) {
  const row = await current(db, { topologyId, purpose: "site" });
  return row ? toDto(row) : null;
}

/** Replaces the site's certificate with a new one from the internal CA (for private sites and tests). */
export async function issueSiteCertificate(db: Db, box: SecretBox, caller: Caller, topologyId: string) {
  const t = await db.topology.findUnique({ where: { id: topologyId } });
  if (!t) throw new ServiceError("NOT_FOUND", `No topology with id ${topologyId}`, "topologyId");
  const ca = await ensureCa(db, box);
  const c = await issueServerCert(ca, [t.name], new Date(), INTERNAL_CERT_DAYS);
  const row = await store(db, box, {
    purpose: "site",
    source: "internal",
    topologyId: t.id,
    names: [t.name],
    certPem: c.certPem,
    chainPem: "",
    keyPem: c.keyPem,
    fingerprint: c.fingerprint,
    issuer: INTERNAL_ISSUER,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    createdBy: caller.name,
  });
  return toDto(row);
}
