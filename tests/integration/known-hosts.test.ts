// Host-key trust per endpoint, against a real database: a server deleted and added
// again at the same endpoint (or under another spelling of its address) that presents
// another key is a changed key — an operator cannot accept it, an admin can.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/server/db";
import { HostKeyUnknownError } from "@/server/exec/errors";
import { generateEd25519, parsePublicKeyLine } from "@/server/exec/keys";
import { RunReporter } from "@/server/queue/run-events";
import { acceptHostKey, createServer, deleteServer, pinKnownHostKey, repinHostKey } from "@/server/services/servers";
import { normaliseAddress } from "@/server/services/known-hosts";
import { ServerInput } from "@/server/schemas/servers";
import { recordConnectionProblem } from "@/workers/kinds/server-check";
import { createTestDb } from "../support/test-db";

let db: Db;
let sshKeyId = "";
const keyA = parsePublicKeyLine(generateEd25519("a").publicKey);
const keyB = parsePublicKeyLine(generateEd25519("b").publicKey);

beforeAll(async () => {
  ({ db } = await createTestDb());
  sshKeyId = (await db.sshKey.create({ data: { name: "deploy", type: "ssh-ed25519", publicKey: "ssh-ed25519 AAAA", fingerprint: "SHA256:x", privateKeyEnc: "x", createdBy: "test" } })).id;
});
afterAll(async () => {
  await db.$disconnect();
});

async function addServer(name: string, address: string, port = 22) {
  return createServer(db, ServerInput.parse({ name, address, port, sshKeyId }));
}

/** What the worker does when a server presents a key nobody pinned for it yet. */
async function firstContact(serverId: string, key: typeof keyA) {
  const server = await db.server.findUniqueOrThrow({ where: { id: serverId } });
  const run = await db.run.create({ data: { kind: "server-check", requestedBy: "test", status: "running" } });
  const reporter = await RunReporter.open(db, null, run.id);
  await recordConnectionProblem({ db, reporter, runId: run.id }, server, new HostKeyUnknownError(server.name, { type: key.type, base64: key.base64, fingerprint: key.fingerprint }));
  await reporter.flush();
  return db.server.findUniqueOrThrow({ where: { id: serverId } });
}

describe("address spellings", () => {
  it("normalises the forms a client reads as the same address", () => {
    expect(normaliseAddress("::ffff:10.0.0.5")).toBe("10.0.0.5");
    expect(normaliseAddress("[::FFFF:a00:5]")).toBe("10.0.0.5");
    expect(normaliseAddress("010.0.0.5")).toBe("8.0.0.5");
    expect(normaliseAddress("10.5")).toBe("10.0.0.5");
    expect(normaliseAddress("2001:DB8:0:0::1")).toBe("2001:db8::1");
    expect(normaliseAddress("Web1.Example.COM.")).toBe("web1.example.com");
  });
});

describe("re-pinning after deleting and adding a server again", () => {
  it("the same endpoint with another key needs an admin, whatever the spelling", async () => {
    const first = await addServer("web-1", "10.77.0.5");
    expect((await firstContact(first.id, keyA)).hostKeyStatus).toBe("pending");
    await acceptHostKey(db, { id: first.id, fingerprint: keyA.fingerprint });
    await deleteServer(db, first.id);

    for (const [name, spelling] of [
      ["web-1-again", "10.77.0.5"],
      ["web-1-mapped", "::ffff:10.77.0.5"],
      ["web-1-upper", "::FFFF:A4D:5"],
    ] as const) {
      const again = await addServer(name, spelling);
      const seen = await firstContact(again.id, keyB);
      // Not a first contact an operator may accept: a changed key.
      expect(seen.hostKeyStatus, spelling).toBe("mismatch");
      await expect(acceptHostKey(db, { id: again.id, fingerprint: keyB.fingerprint })).rejects.toMatchObject({ code: "FORBIDDEN" });
      await expect(pinKnownHostKey(db, { id: again.id, knownHostsLine: `${spelling} ${keyB.type} ${keyB.base64}` }, false)).rejects.toMatchObject({ code: "FORBIDDEN" });
      await deleteServer(db, again.id);
    }
    const audit = await db.auditEntry.findMany({ where: { action: "ssh.hostKeyMismatch" } });
    expect(audit.length).toBeGreaterThanOrEqual(3);

    // The same key as before is fine for an operator.
    const same = await addServer("web-1-same", "10.77.0.5");
    expect((await firstContact(same.id, keyA)).hostKeyStatus).toBe("pending");
    expect((await acceptHostKey(db, { id: same.id, fingerprint: keyA.fingerprint })).hostKeyStatus).toBe("pinned");
    await deleteServer(db, same.id);

    // An admin compares the fingerprints and re-pins; the endpoint then knows the new key.
    const admin = await addServer("web-1-rebuilt", "10.77.0.5");
    await firstContact(admin.id, keyB);
    expect((await repinHostKey(db, { id: admin.id, fingerprint: keyB.fingerprint })).hostKeyStatus).toBe("pinned");
    await deleteServer(db, admin.id);
    const later = await addServer("web-1-later", "::ffff:10.77.0.5");
    expect((await firstContact(later.id, keyB)).hostKeyStatus).toBe("pending");
  });

  it("a host name counts as the IPs it resolves to", async () => {
    const byIp = await addServer("local-ip", "127.0.0.1", 2299);
    await firstContact(byIp.id, keyA);
    await acceptHostKey(db, { id: byIp.id, fingerprint: keyA.fingerprint });
    await deleteServer(db, byIp.id);
    const byName = await addServer("local-name", "localhost", 2299);
    expect((await firstContact(byName.id, keyB)).hostKeyStatus).toBe("mismatch");
    // A key an operator pins for a server whose key was never pinned at its endpoint is still theirs to pin.
    const fresh = await addServer("elsewhere", "10.77.9.9", 2299);
    expect((await pinKnownHostKey(db, { id: fresh.id, knownHostsLine: `10.77.9.9 ${keyB.type} ${keyB.base64}` }, false)).hostKeyStatus).toBe("pinned");
  });
});
