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
import { scanForRenewals } from "@/workers/drift";
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
