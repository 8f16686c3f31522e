// Scheduled certificate renewal: a topology whose internal-CA certificate is past
// two-thirds of its life gets an apply (which re-issues and deploys it); fresh
// and uploaded certificates start nothing. The apply itself is proven on the lab.
// A site certificate Rampart did not issue (uploaded, ACME) is never replaced by an
// internal one, and an expired one warns instead of blocking every apply.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/server/db";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { ensureBackendCert, ensureCa, ensureSiteBundle, uploadSiteCertificate } from "@/server/services/certificates";
import { createCa, issueServerCert } from "@/server/pki/x509";
import { scanForAcmeRenewals, scanForRenewals, type AriLookup } from "@/workers/drift";
import { createTestDb } from "../support/test-db";

let db: Db;
let box: SecretBox;
const added: string[] = [];
const queue = { add: async (_name: string, data: { runId: string }) => void added.push(data.runId) } as never;

beforeAll(async () => {
  let dir: string;
  ({ db, dir } = await createTestDb());
  box = new SecretBox(loadMasterKey({ dataDir: dir, create: false }));
});
afterAll(async () => {
  await db?.$disconnect();
});

async function topologyWithServer(name: string) {
  const key = await db.sshKey.create({ data: { name: `k-${name}`, type: "ssh-ed25519", publicKey: "x", fingerprint: "x", privateKeyEnc: "x", createdBy: "t" } });
  const server = await db.server.create({ data: { name: `web-${name}`, address: "10.0.0.1", sshKeyId: key.id } });
  const t = await db.topology.create({ data: { name, members: { create: [{ serverId: server.id, roles: JSON.stringify(["web"]) }] } } });
  return { t, server };
}

describe("certificate renewal scan", () => {
  it("starts an apply only for topologies with an internal certificate past two-thirds of its life", async () => {
    const ca = await ensureCa(db, box);
    const fresh = await topologyWithServer("fresh.test");
    const old = await topologyWithServer("old.test");
    const now = new Date();
    await ensureBackendCert(db, box, ca, fresh.server.id, ["web-fresh.test"], now);
    await ensureSiteBundle(db, box, ca, { id: fresh.t.id, name: fresh.t.name }, now);
    // Issued 21 days ago: 30-day certificates are due after 20.
    await ensureBackendCert(db, box, ca, old.server.id, ["web-old.test"], new Date(now.getTime() - 21 * 86400_000));
    const started = await scanForRenewals(db, queue, now);
    expect(started).toHaveLength(1);
    const run = await db.run.findUniqueOrThrow({ where: { id: started[0]! } });
    expect(run).toMatchObject({ kind: "topology-apply", topologyId: old.t.id, requestedBy: "certificate renewal (schedule)" });
    // A second scan while that apply is queued starts nothing more.
    expect(await scanForRenewals(db, queue, now)).toEqual([]);
  });

  it("a certificate issued after the last successful apply (its own apply failed) starts another apply", async () => {
    const ca = await ensureCa(db, box);
    const { t, server } = await topologyWithServer("failed.test");
    const applied = new Date(Date.now() - 3600_000);
    await db.run.create({ data: { kind: "topology-apply", topologyId: t.id, requestedBy: "x", status: "succeeded", startedAt: applied, finishedAt: applied } });
    expect(await scanForRenewals(db, queue)).toEqual([]);
    await ensureBackendCert(db, box, ca, server.id, ["web-failed.test"]); // issued by an apply that then failed
    const started = await scanForRenewals(db, queue);
    expect(started).toHaveLength(1);
    expect((await db.run.findUniqueOrThrow({ where: { id: started[0]! } })).topologyId).toBe(t.id);
  });

  it("a plan never stores a certificate: a due one is made in memory only", async () => {
    const ca = await ensureCa(db, box);
    const { server } = await topologyWithServer("plan.test");
    const before = await db.certificate.count();
    const a = await ensureBackendCert(db, box, ca, server.id, ["x"], new Date(), false);
    expect(a.certPem).toContain("BEGIN CERTIFICATE");
    expect(await db.certificate.count()).toBe(before);
  });

  it("the apply's certificate step re-issues what is due and keeps what is not", async () => {
    const ca = await ensureCa(db, box);
    const { server } = await topologyWithServer("keep.test");
    const t0 = new Date(Date.now() - 10 * 86400_000);
    const first = await ensureBackendCert(db, box, ca, server.id, ["a"], t0);
    expect((await ensureBackendCert(db, box, ca, server.id, ["a"], new Date(t0.getTime() + 19 * 86400_000))).certPem).toBe(first.certPem);
    expect((await ensureBackendCert(db, box, ca, server.id, ["a"], new Date(t0.getTime() + 21 * 86400_000))).certPem).not.toBe(first.certPem);
    // A new name (the server moved) re-issues at once.
    expect((await ensureBackendCert(db, box, ca, server.id, ["a", "b"], new Date(t0.getTime() + 21 * 86400_000))).certPem).not.toBe(first.certPem);
    // Keys are stored encrypted, never in clear.
    const rows = await db.certificate.findMany({ where: { serverId: server.id } });
    for (const r of rows) expect(r.keyEnc).not.toContain("PRIVATE KEY");
  });
});

describe("a site certificate Rampart did not issue", () => {
  async function uploaded(name: string, issuedDaysAgo: number, days: number) {
    const { t } = await topologyWithServer(name);
    const other = await createCa("Some public CA", new Date(Date.now() - 400 * 86400_000));
    const leaf = await issueServerCert(other, [name, `www.${name}`], new Date(Date.now() - issuedDaysAgo * 86400_000), days);
    const cert = await uploadSiteCertificate(db, box, { name: "tester" }, { topologyId: t.id, certificatePem: leaf.certPem + other.certPem, privateKeyPem: leaf.keyPem });
    return { t, cert, leaf };
  }

  it("is never swapped for an internal one, past two-thirds of its life and with extra names, whether uploaded or from ACME", async () => {
    const ca = await ensureCa(db, box);
    for (const source of ["uploaded", "acme"] as const) {
      // 70 days into 90, for the site and www: an internal one would be re-issued by now.
      const { t, cert, leaf } = await uploaded(`${source}-keep.test`, 70, 90);
      if (source === "acme") await db.certificate.update({ where: { id: cert.id }, data: { source: "acme" } });
      const site = await ensureSiteBundle(db, box, ca, { id: t.id, name: t.name });
      expect(site).toMatchObject({ source, warnings: [] });
      expect(site.bundle.startsWith(leaf.certPem.trim())).toBe(true);
      expect(await db.certificate.count({ where: { topologyId: t.id, purpose: "site" } })).toBe(1);
    }
  });

  it("an expired uploaded one is still deployed, with a warning, instead of stopping every apply", async () => {
    const ca = await ensureCa(db, box);
    const { t, leaf } = await uploaded("expired.test", 80, 90);
    const later = new Date(Date.now() + 11 * 86400_000);
    const site = await ensureSiteBundle(db, box, ca, { id: t.id, name: t.name }, later);
    expect(site.source).toBe("uploaded");
    expect(site.bundle.startsWith(leaf.certPem.trim())).toBe(true);
    expect(site.warnings).toEqual([expect.stringMatching(/^the site's uploaded certificate expired on \d{4}-\d{2}-\d{2}: .*until a new one is uploaded$/)]);
    expect(await db.certificate.count({ where: { topologyId: t.id, purpose: "site" } })).toBe(1);
  });
});

describe("ACME renewal scan", () => {
  /** A site with an ACME certificate valid from `notBefore` to `notAfter` (stored as the ACME order would). */
  async function acmeSite(name: string, notBefore: Date, notAfter: Date) {
    const { t } = await topologyWithServer(name);
    await db.topologyMember.updateMany({ where: { topologyId: t.id }, data: { roles: JSON.stringify(["load-balancer"]) } });
    const account = await db.acmeAccount.create({
      data: { name: `acct-${name}`, directoryUrl: "https://acme.invalid/dir", keyEnc: "x", accountUrl: "https://acme.invalid/acct/1", thumbprint: "t", termsAgreedAt: new Date(), createdBy: "t" },
    });
    await db.acmeSite.create({ data: { topologyId: t.id, accountId: account.id } });
    const c = await issueServerCert(await createCa("Some ACME CA"), [name], notBefore, Math.round((notAfter.getTime() - notBefore.getTime()) / 86400_000));
    await db.certificate.create({
      data: {
        purpose: "site",
        source: "acme",
        topologyId: t.id,
        names: JSON.stringify([name]),
        certPem: c.certPem,
        keyEnc: "x",
        fingerprint: c.fingerprint,
        issuer: "CN=Some ACME CA",
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        createdBy: "t",
      },
    });
    return t;
  }
  const noAri: AriLookup = async () => null;
  const day = 86400_000;

  it("without ARI, orders once a third of the lifetime remains, and records when", async () => {
    const now = new Date();
    const young = await acmeSite("young.acme.test", new Date(now.getTime() - 10 * day), new Date(now.getTime() + 80 * day));
    const due = await acmeSite("due.acme.test", new Date(now.getTime() - 70 * day), new Date(now.getTime() + 20 * day));
    const started = await scanForAcmeRenewals(db, queue, now, noAri);
    expect(started).toHaveLength(1);
    expect(await db.run.findUniqueOrThrow({ where: { id: started[0]! } })).toMatchObject({ kind: "certificate-order", topologyId: due.id, requestedBy: "certificate renewal (schedule)" });
    expect(JSON.parse((await db.run.findUniqueOrThrow({ where: { id: started[0]! } })).input)).toMatchObject({ reason: "renew", topologyId: due.id });
    // The young one's renewal time is recorded: 60 days after it started (a third of 90 left).
    const site = await db.acmeSite.findUniqueOrThrow({ where: { topologyId: young.id } });
    expect(Math.abs(site.nextAttemptAt!.getTime() - (now.getTime() + 50 * day))).toBeLessThan(day);
    // One order per site at a time: the queued one blocks a second.
    expect(await scanForAcmeRenewals(db, queue, now, noAri)).toEqual([]);
  });

  it("with ARI, renews at a time inside the CA's window, even early; a window in the future waits", async () => {
    const now = new Date();
    const early = await acmeSite("early.acme.test", new Date(now.getTime() - 5 * day), new Date(now.getTime() + 85 * day));
    const later = await acmeSite("later.acme.test", new Date(now.getTime() - 5 * day), new Date(now.getTime() + 85 * day));
    const ari: AriLookup = async (_server, certPem) => {
      const name = certPem === (await db.certificate.findFirstOrThrow({ where: { topologyId: early.id } })).certPem ? "early" : "later";
      // The CA asks for an early renewal of one (say, a revocation incident), and a normal window for the other.
      return name === "early"
        ? { start: new Date(now.getTime() - 3600_000), end: new Date(now.getTime() - 60_000), retryAfterS: 21600 }
        : { start: new Date(now.getTime() + 55 * day), end: new Date(now.getTime() + 57 * day), retryAfterS: 21600 };
    };
    const started = await scanForAcmeRenewals(db, queue, now, ari);
    expect(started).toHaveLength(1);
    expect((await db.run.findUniqueOrThrow({ where: { id: started[0]! } })).topologyId).toBe(early.id);
    const waiting = await db.acmeSite.findUniqueOrThrow({ where: { topologyId: later.id } });
    expect(waiting.ariStart).toEqual(new Date(now.getTime() + 55 * day));
    expect(waiting.nextAttemptAt!.getTime()).toBeGreaterThanOrEqual(now.getTime() + 55 * day);
    expect(waiting.nextAttemptAt!.getTime()).toBeLessThanOrEqual(now.getTime() + 57 * day);
  });

  it("after a failure, waits for the recorded retry time, whatever the certificate's age", async () => {
    const now = new Date();
    const t = await acmeSite("retry.acme.test", new Date(now.getTime() - 80 * day), new Date(now.getTime() + 10 * day));
    await db.acmeSite.update({ where: { topologyId: t.id }, data: { failures: 2, lastOutcome: "failed", nextAttemptAt: new Date(now.getTime() + 60_000) } });
    expect(await scanForAcmeRenewals(db, queue, now, noAri)).toEqual([]);
    const started = await scanForAcmeRenewals(db, queue, new Date(now.getTime() + 61_000), noAri);
    expect(started).toHaveLength(1);
  });

  it("a site whose current certificate is not from ACME (never ordered) is the operator's to order", async () => {
    const now = new Date();
    const t = await acmeSite("never.acme.test", new Date(now.getTime() - 80 * day), new Date(now.getTime() + 10 * day));
    await db.certificate.updateMany({ where: { topologyId: t.id }, data: { source: "uploaded" } });
    expect(await scanForAcmeRenewals(db, queue, now, noAri)).toEqual([]);
  });
});
