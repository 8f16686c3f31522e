// The server check: connect to each server (verifying its pinned host key), read
// its facts, and record them. A first contact records the presented host key for
// the operator to accept; a changed key stops everything for that server, marks
// it, and is written to the audit log.
import { differentKnownKey } from "@/server/services/known-hosts";
import { ServerCheckInput } from "@/server/schemas/run";
import { FACT_COMMANDS, parseFacts, type FactOutputs } from "@/server/provision/facts";
import { loadTarget } from "@/server/services/targets";
import { HostKeyMismatchError, HostKeyUnknownError, ExecError } from "@/server/exec/errors";
import { recordAudit, SYSTEM_ACTOR } from "@/server/auth/audit";
import type { KindContext, RunKindHandler } from "./types";
import { hostAuditCommand } from "@/server/provision/host-audit";

async function checkOne(ctx: KindContext<ServerCheckInput>, serverId: string): Promise<boolean> {
  const { db, reporter, executor, box, signal } = ctx;
  const server = await db.server.findUnique({ where: { id: serverId } });
  if (!server) {
    await reporter.warn(`server ${serverId} no longer exists; skipped`);
    return false;
  }
  const host = server.name;
  try {
    const target = await loadTarget(db, box, serverId);
    await reporter.info(`connecting to ${target.user}@${target.address}:${target.port}`, host);
    // A check always makes a fresh connection, so the host key is verified now (a
    // pooled connection was verified when it was opened).
    executor.forget(target);
    // Each host keeps its own record of what Rampart did to it (like Kamal's audit log on hosts).
    await executor.run(target, hostAuditCommand(`${new Date().toISOString()} run ${ctx.runId} server-check requested by ${ctx.requestedBy}`), { signal });
    const outputs = {} as FactOutputs;
    for (const [name, cmd] of Object.entries(FACT_COMMANDS) as Array<[keyof FactOutputs, (typeof FACT_COMMANDS)[keyof FactOutputs]]>) {
      const r = await executor.exec(target, cmd, { signal });
      outputs[name] = r.stdout;
    }
    const facts = parseFacts(outputs);
    await db.server.update({ where: { id: serverId }, data: { facts: JSON.stringify(facts), factsAt: new Date(), lastCheckAt: new Date(), lastCheckError: null } });
    const pkgs = Object.entries(facts.packages)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} ${v}`);
    await reporter.info(
      `${facts.os.pretty}, kernel ${facts.kernel}, ${facts.cpus} CPU, ${(facts.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${(facts.disk.freeBytes / 2 ** 30).toFixed(1)} of ${(facts.disk.totalBytes / 2 ** 30).toFixed(1)} GiB free, systemd ${facts.systemd}; ${pkgs.length ? pkgs.join(", ") : "none of the watched packages installed"}`,
      host,
    );
    return true;
  } catch (err) {
    await recordConnectionProblem(ctx, server, err);
    return false;
  }
}

type ServerRow = NonNullable<Awaited<ReturnType<KindContext<unknown>["db"]["server"]["findUnique"]>>>;

/**
 * Records why a server could not be reached or read: a first-contact host key
 * (for the operator to accept), a changed host key (server marked, audit entry),
 * or any other error. Also reports it on the run. Used by every kind that connects.
 */
export async function recordConnectionProblem(ctx: Pick<KindContext<unknown>, "db" | "reporter" | "runId">, server: ServerRow, err: unknown, doing = "could not read facts"): Promise<string> {
  const { db, reporter } = ctx;
  const serverId = server.id;
  const host = server.name;
  const message = err instanceof Error ? err.message : String(err);
  // First contact with a key other than the one pinned before for this endpoint (the
  // server was deleted and added again, or added under another spelling): a changed key.
  const known = err instanceof HostKeyUnknownError ? await differentKnownKey(db, server.address, server.port, err.presented.fingerprint) : null;
  if (err instanceof HostKeyUnknownError || err instanceof HostKeyMismatchError) {
    const mismatch = err instanceof HostKeyMismatchError || known !== null;
    await db.server.update({
      where: { id: serverId },
      data: {
        hostKeyStatus: mismatch ? "mismatch" : "pending",
        presentedHostKey: `${err.presented.type} ${err.presented.base64}`,
        presentedFingerprint: err.presented.fingerprint,
        presentedAt: new Date(),
        lastCheckAt: new Date(),
        lastCheckError: message,
      },
    });
    if (mismatch) {
      await recordAudit(db, {
        actor: SYSTEM_ACTOR,
        action: "ssh.hostKeyMismatch",
        target: host,
        outcome: "denied",
        detail: {
          runId: ctx.runId,
          address: `${server.address}:${server.port}`,
          expected: known ? known.fingerprint : (err as HostKeyMismatchError).expected,
          presented: err.presented.fingerprint,
          ...(known ? { pinnedBefore: `${known.endpoint} (${known.serverName})` } : {}),
        },
      });
      await reporter.error(
        known
          ? `${host} presents host key ${err.presented.fingerprint}, but ${known.endpoint} had ${known.fingerprint} pinned before (for ${known.serverName}): an admin must review it on the server's page`
          : message,
        host,
      );
    } else {
      await reporter.warn(
        `first contact: the server presented host key ${err.presented.fingerprint} (${err.presented.type}). Compare it with the server's own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), accept it on the server's page, then check again.`,
        host,
      );
    }
  } else {
    await db.server.update({ where: { id: serverId }, data: { lastCheckAt: new Date(), lastCheckError: message } });
    await reporter.error(err instanceof ExecError ? message : `${doing}: ${message}`, host);
  }
  return message;
}

/** At most this many servers are checked at once. */
const PARALLEL = 10;

export const serverCheck: RunKindHandler<typeof ServerCheckInput> = {
  input: ServerCheckInput,
  async run(ctx) {
    const ids = [...new Set(ctx.input.serverIds)];
    const results: boolean[] = [];
    let next = 0;
    const lane = async () => {
      while (next < ids.length) {
        const i = next++;
        results[i] = await checkOne(ctx, ids[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL, ids.length) }, lane));
    const ok = results.filter(Boolean).length;
    const failed = results.length - ok;
    return { status: failed === 0 ? "succeeded" : "failed", outcome: `${ok} of ${results.length} server(s) checked${failed ? `, ${failed} failed` : ""}` };
  },
};
