// A host that accepts TCP but never speaks SSH (or does not answer at all): the executor
// tells the caller it is still trying, once, before it gives up at its ready timeout.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshExecutor } from "@/server/exec/ssh-executor";
import { UnreachableError } from "@/server/exec/errors";
import { Secret } from "@/server/secrets/secret";

let silent: net.Server;
let key: Secret;
let port: number;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-slow-"));
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "k")]);
  key = new Secret(readFileSync(path.join(dir, "k"), "utf8"));
  silent = net.createServer((s) => void sockets.push(s)); // accepts, then says nothing
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  port = (silent.address() as net.AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => silent.close(r));
});

describe("a slow connect", () => {
  it("is said once after slowConnectMs, with the timeout, then fails as unreachable", async () => {
    const executor = new SshExecutor({ readyTimeoutMs: 1_500, slowConnectMs: 300, connectAttempts: 1 });
    const said: Array<{ at: number; timeoutMs: number }> = [];
    const started = Date.now();
    const err = await executor
      .exec(
        { name: "silent", address: "127.0.0.1", port, user: "root", privateKey: key, hostKey: null },
        { argv: ["true"] },
        { connectAttempts: 1, onSlowConnect: (i) => void said.push({ at: Date.now() - started, timeoutMs: i.timeoutMs }) },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toMatch(/did not complete the SSH handshake within 1\.5 s|no answer within/);
    expect(said).toHaveLength(1);
    expect(said[0]!.timeoutMs).toBe(1_500);
    expect(said[0]!.at).toBeGreaterThanOrEqual(280);
    expect(said[0]!.at).toBeLessThan(1_500);
  });

  it("is not said when the connection comes up in time", async () => {
    // Nothing listens: refused at once, before slowConnectMs.
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const free = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const executor = new SshExecutor({ readyTimeoutMs: 1_500, slowConnectMs: 300, connectAttempts: 1 });
    let said = 0;
    const err = await executor
      .exec({ name: "closed", address: "127.0.0.1", port: free, user: "root", privateKey: key, hostKey: null }, { argv: ["true"] }, { connectAttempts: 1, onSlowConnect: () => void said++ })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    await new Promise((r) => setTimeout(r, 400));
    expect(said).toBe(0);
  });
});
