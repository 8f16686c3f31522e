// The SSH executor against real OpenSSH servers (the lab's Debian hosts): quoting
// under a real remote shell, host-key pinning, pooling, cancel, uploads, streaming,
// fresh connections, port forwarding, and hosts cut off the network.
import { execFileSync } from "node:child_process";
import { readFileSync, existsSync, mkdtempSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLab, labSsh, type LabInfo } from "@/e2e/lab/fixture";
import { SshExecutor, type Target } from "@/server/exec/ssh-executor";
import { Secret } from "@/server/secrets/secret";
import { HostKeyMismatchError, HostKeyUnknownError, CancelledError, CommandFailedError, AuthFailedError, UnreachableError, TimeoutError, ForwardFailedError } from "@/server/exec/errors";
import { generateEd25519 } from "@/server/exec/keys";
import { HOSTILE } from "../support/hostile";

let lab: LabInfo;
let executor: SshExecutor;
let key: Secret;
const targets: Target[] = [];

function target(i: number, over: Partial<Target> = {}): Target {
  const h = lab.hosts[i]!;
  return { name: h.name, address: h.address, port: h.port, user: "root", privateKey: key, hostKey: h.hostKey, ...over };
}

beforeAll(async () => {
  lab = await ensureLab(3);
  key = new Secret(readFileSync(lab.sshKey, "utf8"));
  executor = new SshExecutor();
  for (let i = 0; i < 3; i++) targets.push(target(i));
  // A non-root login with passwordless sudo, as many operators use.
  await labSsh(lab.hosts[0]!.name, [
    "sh",
    "-c",
    'id deploy >/dev/null 2>&1 || useradd -m -s /bin/bash deploy; mkdir -p /home/deploy/.ssh; cp /root/.ssh/authorized_keys /home/deploy/.ssh/; chown -R deploy: /home/deploy/.ssh; echo "deploy ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/deploy; chmod 440 /etc/sudoers.d/deploy',
  ]);
}, 600_000);

afterAll(async () => {
  await executor?.close();
});

describe("commands on a real host", () => {
  it("every hostile value arrives as one literal argument, byte for byte (printf '%s\\0')", async () => {
    for (const user of ["root", "deploy"]) {
      const r = await executor.run(target(0, { user }), { argv: ["printf", "%s\\0", ...HOSTILE] });
      expect(r.stdout.split("\0").slice(0, -1)).toEqual(HOSTILE);
    }
    expect(await labSsh(lab.hosts[0]!.name, ["sh", "-c", "ls /tmp/rampart-pwned 2>/dev/null || echo absent"]).then((r) => r.stdout.trim())).toBe("absent");
  });

  it("a sudo user runs as root through sudo -n; asRoot: false runs as the user", async () => {
    const deploy = target(0, { user: "deploy" });
    expect((await executor.run(deploy, { argv: ["id", "-un"] })).stdout.trim()).toBe("root");
    expect((await executor.run(deploy, { argv: ["id", "-un"], asRoot: false })).stdout.trim()).toBe("deploy");
    // What the firewall keeps SSH open to: who connects, as the host sees it, also past sudo.
    const seen = await executor.run(deploy, { argv: ["sh", "-c", 'echo "[$SSH_CONNECTION] [$RAMPART_SSH_CONNECTION]"'], forwardSshConnection: true });
    expect(seen.stdout.trim()).toMatch(/^\[\] \[\d+\.\d+\.\d+\.\d+ \d+ \d+\.\d+\.\d+\.\d+ 22\]$/);
  });

  it("streams stdout and stderr line by line, and reports failures with the exit code and last lines", async () => {
    const lines: string[] = [];
    const err = await executor
      .run(targets[0]!, { argv: ["sh", "-c", "for i in 1 2 3; do echo out $i; echo err $i >&2; done; exit 7"] }, { onLine: (s, l) => lines.push(`${s}:${l}`) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect((err as CommandFailedError).exitCode).toBe(7);
    expect((err as CommandFailedError).lastLines).toContain("err 3");
    expect(lines.filter((l) => l.startsWith("stdout:"))).toEqual(["stdout:out 1", "stdout:out 2", "stdout:out 3"]);
    expect(lines.filter((l) => l.startsWith("stderr:"))).toEqual(["stderr:err 1", "stderr:err 2", "stderr:err 3"]);
  });

  it("keeps memory bounded on very long output and very long lines", async () => {
    const small = new SshExecutor({ captureLimit: 64 * 1024, maxLineLength: 1000 });
    let count = 0;
    let longest = 0;
    const r = await small.run(
      targets[1]!,
      { argv: ["sh", "-c", "seq 1 200000; head -c 5000 /dev/zero | tr '\\0' x; echo"] },
      {
        onLine: (_s, l) => {
          count++;
          longest = Math.max(longest, l.length);
        },
      },
    );
    await small.close();
    expect(r.truncated).toBe(true);
    expect(r.stdout.length).toBeLessThan(70 * 1024);
    expect(count).toBeGreaterThan(200_000);
    expect(longest).toBeLessThan(1100);
  });

  it("passes stdin, and redacts secrets that show up in output", async () => {
    const pw = new Secret("sup3r-s3cret-pw");
    const lines: string[] = [];
    const r = await executor.run(targets[0]!, { argv: ["cat"], stdin: pw, secrets: [pw] }, { onLine: (_s, l) => lines.push(l) });
    expect(r.stdout).toBe("[redacted]");
    expect(lines.join("\n")).not.toContain("sup3r");
  });
});

describe("host keys", () => {
  it("first contact: refuses, and reports the fingerprint the host presented", async () => {
    const err = await executor.run(target(1, { hostKey: null }), { argv: ["true"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyUnknownError);
    expect((err as HostKeyUnknownError).presented.fingerprint).toBe(lab.hosts[1]!.fingerprint);
  });

  it("a host pinned by its RSA key (as ssh-keyscan lists first) is asked for that key", async () => {
    const rsa = readFileSync(path.join(lab.hosts[1]!.root, "etc/ssh/ssh_host_rsa_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
    const fresh = new SshExecutor();
    expect((await fresh.run(target(1, { hostKey: rsa }), { argv: ["echo", "rsa ok"] })).stdout).toBe("rsa ok\n");
    await fresh.close();
  });

  it("a different key stops the connection before any command runs", async () => {
    const marker = "/root/rampart-mismatch-marker";
    const wrong = target(2, { hostKey: lab.hosts[0]!.hostKey });
    const err = await executor.run(wrong, { argv: ["touch", marker] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect((err as HostKeyMismatchError).expected).toBe(lab.hosts[0]!.fingerprint);
    expect((err as HostKeyMismatchError).presented.fingerprint).toBe(lab.hosts[2]!.fingerprint);
    expect((err as Error).message).toMatch(/HOST KEY MISMATCH .*Nothing was run/);
    // Checked from outside SSH: the host's own filesystem.
    expect(existsSync(path.join(lab.hosts[2]!.root, marker))).toBe(false);
  });
});

describe("connections", () => {
  it("runs 3 hosts × 20 commands in parallel over one pooled connection per host", async () => {
    const pool = new SshExecutor();
    const t0 = Date.now();
    const results = await Promise.all(targets.flatMap((t) => Array.from({ length: 20 }, (_, i) => pool.run(t, { argv: ["echo", `${t.name}-${i}`] }))));
    expect(results.map((r) => r.stdout.trim()).sort()).toEqual(targets.flatMap((t) => Array.from({ length: 20 }, (_, i) => `${t.name}-${i}`)).sort());
    expect(pool.stats.connectionsOpened).toBe(3);
    expect(pool.stats.channelsOpened).toBe(60);
    expect(Date.now() - t0).toBeLessThan(30_000);
    await pool.close();
  });

  it("cancel reaches the remote process", async () => {
    const controller = new AbortController();
    const seconds = String(1000 + Math.floor(Math.random() * 8000)); // a process no one else runs
    // A parent with a child, like apt-get and dpkg: both must stop.
    const running = executor.run(targets[1]!, { argv: ["sh", "-c", `sleep ${seconds}; echo never`] }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 700));
    expect((await labSsh(lab.hosts[1]!.name, ["pgrep", "-fx", `sleep ${seconds}`], { check: false })).code).toBe(0);
    controller.abort();
    await expect(running).rejects.toBeInstanceOf(CancelledError);
    await new Promise((r) => setTimeout(r, 300));
    expect((await labSsh(lab.hosts[1]!.name, ["pgrep", "-f", `sleep ${seconds}`], { check: false })).code).toBe(1);
  });

  it("a command timeout stops it with a TimeoutError", async () => {
    await expect(executor.run(targets[1]!, { argv: ["sleep", "30"], timeoutMs: 500 })).rejects.toBeInstanceOf(TimeoutError);
  });

  it("logs in with a passphrase-protected key", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rampart-pp-"));
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "pass phrase 42", "-C", "", "-f", path.join(dir, "k")]);
    const pub = readFileSync(path.join(dir, "k.pub"), "utf8").trim();
    await labSsh(lab.hosts[2]!.name, ["sh", "-c", 'printf "%s\\n" "$1" >> /root/.ssh/authorized_keys', "x", pub]);
    const t = target(2, { privateKey: new Secret(readFileSync(path.join(dir, "k"), "utf8")), passphrase: new Secret("pass phrase 42") });
    expect((await executor.run(t, { argv: ["echo", "ok"] })).stdout).toBe("ok\n");
  });

  it("auth failures and unreachable hosts are typed", async () => {
    const stranger = new Secret(generateEd25519("stranger").privateKey);
    await expect(executor.run(target(2, { privateKey: stranger }), { argv: ["true"] })).rejects.toBeInstanceOf(AuthFailedError);
    const nobody = new SshExecutor({ connectAttempts: 1, readyTimeoutMs: 3000 });
    await expect(nobody.run(target(2, { port: 2 }), { argv: ["true"] })).rejects.toBeInstanceOf(UnreachableError);
    await nobody.close();
  });
});

describe("uploads", () => {
  it("writes files atomically with mode and owner, by SFTP as root and by stdin through sudo", async () => {
    for (const [user, file] of [
      ["root", "/etc/rampart-test-root.conf"],
      ["deploy", "/etc/rampart-test-sudo.conf"],
    ] as const) {
      const content = `hello from ${user}\nline with 'quotes' and $(dollars)\n`;
      await executor.upload(target(0, { user }), { path: file, content, mode: 0o640, owner: "root", group: "www-data" });
      const root = lab.hosts[0]!.root;
      expect(readFileSync(path.join(root, file), "utf8")).toBe(content);
      const st = await labSsh(lab.hosts[0]!.name, ["stat", "-c", "%a %U %G", file]);
      expect(st.stdout.trim()).toBe("640 root www-data");
    }
    const leftovers = await labSsh(lab.hosts[0]!.name, ["sh", "-c", "ls -a /etc | grep -c rampart- || true"]);
    expect(leftovers.stdout.trim()).toBe("2");
  });
});

describe("timeouts by default", () => {
  it("a command without timeoutMs gets the executor's default", async () => {
    const quick = new SshExecutor({ commandTimeoutMs: 500 });
    const t0 = Date.now();
    await expect(quick.run(targets[1]!, { argv: ["sleep", "30"] })).rejects.toBeInstanceOf(TimeoutError);
    expect(Date.now() - t0).toBeLessThan(8_000);
    expect((await quick.run(targets[1]!, { argv: ["echo", "still here"] })).stdout).toBe("still here\n");
    await quick.close();
  });

  it("an SFTP upload that does not finish in time fails with a TimeoutError, leaves no temporary file, and the connection stays usable", async () => {
    const dir = `/tmp/rampart-upload-timeout-${process.pid}`;
    await executor.run(targets[1]!, { argv: ["mkdir", "-p", dir] });
    try {
      const big = Buffer.alloc(64 * 1024 * 1024, "x");
      await expect(executor.upload(targets[1]!, { path: `${dir}/big`, content: big, mode: 0o600 }, { timeoutMs: 50 })).rejects.toBeInstanceOf(TimeoutError);
      expect((await executor.run(targets[1]!, { argv: ["echo", "ok"] })).stdout).toBe("ok\n");
      let left = "?";
      for (let i = 0; i < 30 && left !== ""; i++) {
        left = (await labSsh(lab.hosts[1]!.name, ["ls", "-A", dir])).stdout.trim();
        if (left !== "") await new Promise((r) => setTimeout(r, 100));
      }
      expect(left).toBe("");
    } finally {
      await labSsh(lab.hosts[1]!.name, ["rm", "-rf", dir]);
    }
  });
});

describe("fresh connections (execFresh)", () => {
  it("runs on a new connection each time, closed afterwards, while the pool keeps its own", async () => {
    const ex = new SshExecutor();
    const t = targets[0]!;
    // SSH_CONNECTION is "client-ip client-port server-ip server-port": the client port names the connection.
    const from = async (r: Promise<{ stdout: string }>) => (await r).stdout.trim().split(" ")[1];
    const pooled1 = await from(ex.run(t, { argv: ["sh", "-c", 'echo "$SSH_CONNECTION"'] }));
    expect(ex.stats.connectionsOpened).toBe(1);
    const fresh1 = await from(ex.execFresh(t, { argv: ["sh", "-c", 'echo "$SSH_CONNECTION"'] }));
    const fresh2 = await from(ex.runFresh(t, { argv: ["sh", "-c", 'echo "$SSH_CONNECTION"'] }));
    expect(ex.stats.connectionsOpened).toBe(3);
    const pooled2 = await from(ex.run(t, { argv: ["sh", "-c", 'echo "$SSH_CONNECTION"'] }));
    expect(ex.stats.connectionsOpened).toBe(3);
    expect(pooled2).toBe(pooled1);
    expect(new Set([pooled1, fresh1, fresh2]).size).toBe(3);
    // Closed afterwards: the host no longer has a connection from those ports.
    await new Promise((r) => setTimeout(r, 300));
    const established = (await labSsh(lab.hosts[0]!.name, ["ss", "-Htn", "state", "established", "( sport = :22 )"])).stdout;
    const peerPorts = established
      .split("\n")
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/).at(-1)!.split(":").at(-1));
    expect(peerPorts).toContain(pooled1);
    expect(peerPorts).not.toContain(fresh1);
    expect(peerPorts).not.toContain(fresh2);
    // Exit codes come back as with exec.
    expect((await ex.execFresh(t, { argv: ["sh", "-c", "exit 3"] })).exitCode).toBe(3);
    await ex.close();
  });

  it("refuses a host that presents another key than the pinned one, before anything runs", async () => {
    const marker = "/root/rampart-fresh-mismatch-marker";
    const err = await executor.execFresh(target(2, { hostKey: lab.hosts[0]!.hostKey }), { argv: ["touch", marker] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect((err as HostKeyMismatchError).presented.fingerprint).toBe(lab.hosts[2]!.fingerprint);
    expect(existsSync(path.join(lab.hosts[2]!.root, marker))).toBe(false);
    await expect(executor.execFresh(target(2, { hostKey: null }), { argv: ["true"] })).rejects.toBeInstanceOf(HostKeyUnknownError);
  });
});

/** Reads a whole HTTP/1.0 response from a stream. */
function httpGet(stream: Duplex, host: string, pathName: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    stream.setEncoding("utf8");
    stream.on("data", (d: string) => (body += d));
    stream.once("end", () => resolve(body));
    stream.once("error", reject);
    stream.write(`GET ${pathName} HTTP/1.0\r\nHost: ${host}\r\n\r\n`);
  });
}

describe("port forwarding (forward)", () => {
  const h = () => lab.hosts[1]!;
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const unit = `rampart-forward-test-${port}`;
  const dir = `/tmp/${unit}`;
  let cert = "";

  beforeAll(async () => {
    // An HTTPS server on the host's loopback only, with a certificate made there.
    const server = [
      "import http.server, ssl, sys",
      "port, d = int(sys.argv[1]), sys.argv[2]",
      "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(d + '/cert.pem', d + '/key.pem')",
      "h = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=d + '/www', **k)",
      "s = http.server.HTTPServer(('127.0.0.1', port), h); s.socket = ctx.wrap_socket(s.socket, server_side=True); s.serve_forever()",
    ].join("\n");
    await labSsh(h().name, [
      "sh",
      "-c",
      'set -e; d=$1; mkdir -p "$d/www"; echo "hello through the tunnel" > "$d/www/marker.txt"; ' +
        'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 1 -subj /CN=forward.test -addext subjectAltName=DNS:forward.test 2>/dev/null; ' +
        'systemd-run --quiet --unit "$2" python3 -c "$3" "$4" "$d"; ' +
        'for i in $(seq 100); do ss -Hltn "sport = :$4" | grep -q . && exit 0; sleep 0.05; done; echo "the test server did not start" >&2; exit 1',
      "x",
      dir,
      unit,
      server,
      String(port),
    ]);
    cert = (await labSsh(h().name, ["cat", `${dir}/cert.pem`])).stdout;
  });

  afterAll(async () => {
    await labSsh(h().name, ["sh", "-c", 'systemctl stop "$1" 2>/dev/null; systemctl reset-failed "$1" 2>/dev/null; rm -rf "$2"; true', "x", unit, dir]);
  });

  it("reaches a TLS service bound to the host's 127.0.0.1, usable as tls.connect({ socket })", async () => {
    // Not reachable from outside: it listens on the host's loopback only.
    const direct = await new Promise<string>((resolve) => {
      const s = net.connect({ host: h().address, port }, () => (s.destroy(), resolve("connected")));
      s.once("error", (e: Error & { code?: string }) => resolve(e.code ?? e.message));
    });
    expect(direct).toBe("ECONNREFUSED");

    const ex = new SshExecutor();
    const socket = await ex.forward(targets[1]!, "127.0.0.1", port);
    const secure = tls.connect({ socket, servername: "forward.test", ca: cert });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", resolve);
      secure.once("error", reject);
    });
    expect(secure.authorized).toBe(true);
    expect(secure.getPeerCertificate().subject.CN).toBe("forward.test");
    const response = await httpGet(secure, "forward.test", "/marker.txt");
    expect(response).toMatch(/^HTTP\/1\.[01] 200/);
    expect(response).toContain("hello through the tunnel");
    expect(ex.stats.forwardsOpened).toBe(1);
    expect(ex.stats.connectionsOpened).toBe(1);
    await ex.close(); // waits for the forward's channel: it closed with the response
  });

  it("takes a channel slot until it closes, and an abort closes it", async () => {
    const ex = new SshExecutor({ maxChannels: 1 });
    const controller = new AbortController();
    const socket = await ex.forward(targets[1]!, "127.0.0.1", port, { signal: controller.signal });
    let ran = false;
    const queued = ex.run(targets[1]!, { argv: ["true"] }).then(() => (ran = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(ran).toBe(false); // the forward holds the only slot
    const closed = new Promise((r) => socket.once("close", r));
    controller.abort();
    await closed;
    await queued;
    expect(ran).toBe(true);
    await ex.close();
  });

  it("a port where nothing listens is a ForwardFailedError naming the host and port", async () => {
    const err = await executor.forward(targets[1]!, "127.0.0.1", port + 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ForwardFailedError);
    expect((err as Error).message).toContain(`127.0.0.1:${port + 1}`);
    expect((err as Error).message).toContain(lab.hosts[1]!.name);
    // The connection is fine: the host was reachable, the port was not.
    expect((await executor.run(targets[1]!, { argv: ["echo", "ok"] })).stdout).toBe("ok\n");
  });
});

describe("a host cut off the network", () => {
  // The host gets a second address, and only packets to that address are dropped
  // (in the host's own network namespace, before anything answers): to Rampart the
  // host is gone, while other tests keep using its usual address.
  const h = () => lab.hosts[2]!;
  let alias = "";
  const table = `rampart_exec_cut_${process.pid}`;
  const nsRun = (args: string[]) => execFileSync("ip", ["netns", "exec", h().netns, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  const cut = () =>
    execFileSync("ip", ["netns", "exec", h().netns, "nft", "-f", "-"], {
      input: `table inet ${table} {\n chain input { type filter hook input priority -400; policy accept; ip daddr ${alias} drop; }\n}\n`,
    });
  const restore = () => {
    try {
      nsRun(["nft", "delete", "table", "inet", table]);
    } catch {
      // not there (never cut, or already restored)
    }
  };
  const t = (over: Partial<Target> = {}) => target(2, { address: alias, ...over });
  const sleepFor = String(7000 + Math.floor(Math.random() * 2000)); // a process no one else runs

  beforeAll(() => {
    const taken = new Set(lab.hosts.map((x) => x.address));
    const base = lab.bridgeAddress.split(".").slice(0, 3).join(".");
    alias = [`${base}.250`, `${base}.249`, `${base}.248`].find((a) => !taken.has(a))!;
    nsRun(["ip", "addr", "add", `${alias}/32`, "dev", "eth0"]);
  });

  afterAll(() => {
    restore();
    try {
      nsRun(["ip", "addr", "del", `${alias}/32`, "dev", "eth0"]);
    } catch {
      // already gone
    }
  });

  it("is reported unreachable within 12 s (new connections and pooled ones), and works again once restored", async () => {
    const pooled = new SshExecutor();
    const others = [new SshExecutor(), new SshExecutor(), new SshExecutor()];
    try {
      expect((await pooled.run(t(), { argv: ["hostname"] })).stdout.trim()).toBe(h().name);
      expect((await pooled.reachable(t())).ms).toBeLessThan(2_000);
      const running = pooled.run(t(), { argv: ["sleep", sleepFor] }).catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 300));
      cut();
      try {
        const t0 = Date.now();
        const timed = <T>(p: Promise<T>) =>
          p.then(
            () => ({ err: null as unknown, ms: Date.now() - t0 }),
            (err: unknown) => ({ err, ms: Date.now() - t0 }),
          );
        const [onPool, probe, singleAttempt, fresh, probeNew] = await Promise.all([
          // The pooled connection: the channel cannot open, so it is declared dead.
          timed(pooled.run(t(), { argv: ["true"] })),
          timed(pooled.reachable(t())),
          // No pooled connection: one connect attempt, its packets dropped.
          timed(others[0]!.exec(t(), { argv: ["true"] }, { connectAttempts: 1 })),
          timed(others[1]!.execFresh(t(), { argv: ["true"] })),
          timed(others[2]!.reachable(t(), { timeoutMs: 5_000 })),
        ]);
        for (const r of [onPool, probe, singleAttempt, fresh]) {
          expect(r.err).toBeInstanceOf(UnreachableError);
          expect((r.err as Error).message).toContain(`${h().name} (${alias}:22)`);
          expect(r.ms).toBeLessThan(12_000);
        }
        expect((onPool.err as Error).message).toMatch(/did not open a channel|connection was lost/);
        expect((singleAttempt.err as Error).message).toMatch(/no answer within 10 s/);
        expect(probeNew.err).toBeInstanceOf(UnreachableError);
        expect(probeNew.ms).toBeLessThan(6_000);
        // The command that was running when the host went away fails as unreachable too.
        const during = await running;
        expect(during).toBeInstanceOf(UnreachableError);
        expect(Date.now() - t0).toBeLessThan(16_000);
      } finally {
        restore();
      }
      // Back on the network: the dead connection was dropped, a new one is made.
      const opened = pooled.stats.connectionsOpened;
      expect((await pooled.run(t(), { argv: ["hostname"] })).stdout.trim()).toBe(h().name);
      expect(pooled.stats.connectionsOpened).toBe(opened + 1);
      await pooled.reachable(t());
      expect((await others[1]!.execFresh(t(), { argv: ["hostname"] })).stdout.trim()).toBe(h().name);
    } finally {
      restore();
      await Promise.all([pooled, ...others].map((e) => e.close()));
    }
    // The server side of the cut-off session does not know yet: stop its command, as the host was before.
    await labSsh(h().name, ["pkill", "-f", `sleep ${sleepFor}`], { check: false });
  });
});
