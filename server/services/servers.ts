// Servers: the inventory, host-key trust, and starting checks.
import { type KnownKey, differentKnownKey, rememberPinnedKey } from "./known-hosts";
import type { Db } from "../db";
import type { Queue } from "bullmq";
import type { RunJobData } from "../queue/names";
import type { z } from "zod";
import { FactsDto, type ServerInput } from "../schemas/servers";
import { parseKnownHostsLine } from "../exec/keys";
import { ServiceError } from "./errors";
import { startRun, type Caller } from "./runs";

type ServerRow = Awaited<ReturnType<Db["server"]["findUniqueOrThrow"]>> & { sshKey: { name: string } };

const ACTIVE = ["queued", "running"];

async function busyIds(db: Db, ids: string[]): Promise<Set<string>> {
  const rows = await db.runTarget.findMany({ where: { serverId: { in: ids }, run: { status: { in: ACTIVE } } }, select: { serverId: true } });
  return new Set(rows.map((r) => r.serverId));
}

function toDto(s: ServerRow, busy: boolean) {
  const facts = s.facts ? FactsDto.safeParse(JSON.parse(s.facts)) : null;
  return {
    id: s.id,
    name: s.name,
    address: s.address,
    port: s.port,
    user: s.user,
    sshKeyId: s.sshKeyId,
    sshKeyName: s.sshKey.name,
    labels: JSON.parse(s.labels) as string[],
    hostKeyStatus: s.hostKeyStatus as "unknown" | "pending" | "pinned" | "mismatch",
    hostKeyFingerprint: s.hostKeyFingerprint,
    presentedFingerprint: s.presentedFingerprint,
    presentedAt: s.presentedAt,
    facts: facts?.success ? facts.data : null,
    factsAt: s.factsAt,
    lastCheckAt: s.lastCheckAt,
    lastCheckError: s.lastCheckError,
    createdAt: s.createdAt,
    busy,
  };
}

export async function listServers(db: Db) {
  const rows = await db.server.findMany({ orderBy: { name: "asc" }, include: { sshKey: { select: { name: true } } } });
  const busy = await busyIds(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toDto(r, busy.has(r.id)));
}

async function find(db: Db, id: string) {
  const row = await db.server.findUnique({ where: { id }, include: { sshKey: { select: { name: true } } } });
  if (!row) throw new ServiceError("NOT_FOUND", `No server with id ${id}`, "id");
  return row;
}

export async function getServer(db: Db, id: string) {
  const row = await find(db, id);
  return toDto(row, (await busyIds(db, [id])).has(id));
}

type ServerFields = z.output<typeof ServerInput>;

async function validate(db: Db, input: ServerFields, exceptId?: string) {
  const clash = await db.server.findUnique({ where: { name: input.name } });
  if (clash && clash.id !== exceptId) throw new ServiceError("CONFLICT", `A server named ${input.name} already exists`, "name");
  if (!(await db.sshKey.findUnique({ where: { id: input.sshKeyId } }))) throw new ServiceError("BAD_REQUEST", "No such SSH key", "sshKeyId");
  const sameEndpoint = await db.server.findFirst({ where: { address: input.address, port: input.port, NOT: exceptId ? { id: exceptId } : undefined } });
  if (sameEndpoint) throw new ServiceError("CONFLICT", `${input.address}:${input.port} is already the server ${sameEndpoint.name}`, "address");
}

export async function createServer(db: Db, input: ServerFields) {
  await validate(db, input);
  const row = await db.server.create({ data: { ...input, labels: JSON.stringify(input.labels) }, include: { sshKey: { select: { name: true } } } });
  return toDto(row, false);
}

export async function updateServer(db: Db, input: ServerFields & { id: string }, isAdmin: boolean) {
  const before = await find(db, input.id);
  await validate(db, input, input.id);
  const moved = before.address !== input.address || before.port !== input.port;
  // Moving forgets the pinned key; after a mismatch that would sidestep the admin-only re-pin.
  if (moved && before.hostKeyStatus === "mismatch" && !isAdmin)
    throw new ServiceError("FORBIDDEN", `${before.name}'s host key changed: only an admin can change its address or port until the key is re-pinned`, "address");
  const row = await db.server.update({
    where: { id: input.id },
    data: {
      name: input.name,
      address: input.address,
      port: input.port,
      user: input.user,
      sshKeyId: input.sshKeyId,
      labels: JSON.stringify(input.labels),
      // Another endpoint is another machine as far as trust goes: its key must be accepted again.
      ...(moved ? { hostKey: null, hostKeyFingerprint: null, hostKeyStatus: "unknown", presentedHostKey: null, presentedFingerprint: null, presentedAt: null } : {}),
    },
    include: { sshKey: { select: { name: true } } },
  });
  // Another address is another machine: an operator's move needs an admin's approval
  // before the server receives its topology's secrets again.
  if (moved && !isAdmin) await db.topologyMember.updateMany({ where: { serverId: row.id }, data: { approvedAt: null, approvedBy: null } });
  return toDto(row, (await busyIds(db, [row.id])).has(row.id));
}

export async function deleteServer(db: Db, id: string) {
  const row = await find(db, id);
  if ((await busyIds(db, [id])).has(id)) throw new ServiceError("CONFLICT", `${row.name} is being used by a run that has not finished: wait for it, or cancel it, then delete`);
  const member = await db.topologyMember.findUnique({ where: { serverId: id }, include: { topology: { select: { name: true } } } });
  if (member) throw new ServiceError("CONFLICT", `${row.name} is part of the topology ${member.topology.name}: remove it from the topology first`);
  await db.server.delete({ where: { id } });
  return toDto(row, false);
}

/**
 * Trust on first use: pins the key the server presented, if it is the one the operator
 * saw, and if no other key was pinned before for its endpoint (a server deleted and
 * added again, or the same machine under another spelling): that takes an admin.
 */
export async function acceptHostKey(db: Db, input: { id: string; fingerprint: string }) {
  const row = await find(db, input.id);
  if (row.hostKeyStatus === "mismatch") throw new ServiceError("FORBIDDEN", `${row.name}'s host key changed: only an admin can re-pin it, after comparing the old and new fingerprints`);
  if (row.hostKeyStatus !== "pending" || !row.presentedHostKey) throw new ServiceError("CONFLICT", `${row.name} has no host key waiting to be accepted: run a check first`);
  const known = await differentKnownKey(db, row.address, row.port, input.fingerprint);
  if (known) throw new ServiceError("FORBIDDEN", knownKeyMessage(row.name, known));
  return pinPresented(db, row, input.fingerprint);
}

const knownKeyMessage = (name: string, known: KnownKey) =>
  `${known.endpoint} had another host key pinned before (${known.fingerprint}, for ${known.serverName}): only an admin can accept a different key for ${name}, after comparing the fingerprints`;

/** After a mismatch: an admin accepts the new key, having seen both fingerprints. */
export async function repinHostKey(db: Db, input: { id: string; fingerprint: string }) {
  const row = await find(db, input.id);
  if (row.hostKeyStatus !== "mismatch" || !row.presentedHostKey) throw new ServiceError("CONFLICT", `${row.name}'s host key has not changed: nothing to re-pin`);
  return pinPresented(db, row, input.fingerprint);
}

async function pinPresented(db: Db, row: ServerRow, fingerprint: string) {
  if (row.presentedFingerprint !== fingerprint)
    throw new ServiceError("CONFLICT", `${row.name} now presents ${row.presentedFingerprint}, not ${fingerprint}: check the fingerprint again`, "fingerprint");
  const updated = await db.server.update({
    where: { id: row.id },
    data: { hostKey: row.presentedHostKey, hostKeyFingerprint: row.presentedFingerprint, hostKeyStatus: "pinned", presentedHostKey: null, presentedFingerprint: null, presentedAt: null },
    include: { sshKey: { select: { name: true } } },
  });
  await rememberPinnedKey(db, updated, row.presentedHostKey!, fingerprint);
  return { ...toDto(updated, false), previousFingerprint: row.hostKeyFingerprint };
}

/** Pins a key known in advance (a known_hosts line). Replacing a pinned key needs an admin. */
export async function pinKnownHostKey(db: Db, input: { id: string; knownHostsLine: string }, isAdmin: boolean) {
  const row = await find(db, input.id);
  let key;
  try {
    key = parseKnownHostsLine(input.knownHostsLine);
  } catch (e) {
    throw new ServiceError("BAD_REQUEST", `The known_hosts line ${(e as Error).message}`, "knownHostsLine");
  }
  if (row.hostKey && row.hostKeyStatus !== "unknown" && !isAdmin && row.hostKeyFingerprint !== key.fingerprint)
    throw new ServiceError("FORBIDDEN", `${row.name} already has a pinned host key (${row.hostKeyFingerprint}): only an admin can replace it`);
  if (!isAdmin) {
    const known = await differentKnownKey(db, row.address, row.port, key.fingerprint);
    if (known) throw new ServiceError("FORBIDDEN", knownKeyMessage(row.name, known));
  }
  const updated = await db.server.update({
    where: { id: row.id },
    data: { hostKey: `${key.type} ${key.base64}`, hostKeyFingerprint: key.fingerprint, hostKeyStatus: "pinned", presentedHostKey: null, presentedFingerprint: null, presentedAt: null },
    include: { sshKey: { select: { name: true } } },
  });
  await rememberPinnedKey(db, updated, `${key.type} ${key.base64}`, key.fingerprint);
  return { ...toDto(updated, false), previousFingerprint: row.hostKeyFingerprint };
}

export async function checkServers(db: Db, queue: Pick<Queue<RunJobData>, "add">, caller: Caller, ids: string[]) {
  const found = await db.server.findMany({ where: { id: { in: ids } }, select: { id: true } });
  const missing = ids.filter((id) => !found.some((f) => f.id === id));
  if (missing.length > 0) throw new ServiceError("NOT_FOUND", `No server with id ${missing.join(", ")}`, "ids");
  return startRun({ db, queue }, caller, "server-check", { serverIds: ids }, ids);
}
