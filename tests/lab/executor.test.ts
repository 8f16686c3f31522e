// The SSH executor against real OpenSSH servers (the lab's Debian hosts): quoting
// under a real remote shell, host-key pinning, pooling, cancel, uploads, streaming.
import { execFileSync } from "node:child_process";
import { readFileSync, existsSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureLab, labSsh, type LabInfo } from "@/e2e/lab/fixture";
import { SshExecutor, type Target } from "@/server/exec/ssh-executor";
import { Secret } from "@/server/secrets/secret";
import { HostKeyMismatchError, HostKeyUnknownError, CancelledError, CommandFailedError, AuthFailedError, UnreachableError, TimeoutError } from "@/server/exec/errors";
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
    const r = await small.run(targets[1]!, { argv: ["sh", "-c", "seq 1 200000; head -c 5000 /dev/zero | tr '\\0' x; echo"] }, { onLine: (_s, l) => { count++; longest = Math.max(longest, l.length); } });
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
    for (const [user, file] of [["root", "/etc/rampart-test-root.conf"], ["deploy", "/etc/rampart-test-sudo.conf"]] as const) {
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
