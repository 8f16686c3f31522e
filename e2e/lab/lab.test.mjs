// Tests of the test lab itself: `node --test e2e/lab/lab.test.mjs` (as root).
//
// Plain JS and node builtins only, so it runs before `npm ci` and on a fresh
// CI machine. Tests run in file order and share one lab: it is brought up
// first (reused if already up), exercised, crashed on purpose, and finally
// torn down; the lab is left DOWN at the end.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync, readFileSync, existsSync, statSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { randomBytes } from "node:crypto";

const LAB = join(dirname(fileURLToPath(import.meta.url)), "lab.sh");
const HOSTS = 3;
const tmp = mkdtempSync(join(tmpdir(), "lab-test-"));

/** Run a command; resolves with {code, signal, stdout, stderr} (never rejects on exit code). */
function run(cmd, args, { input, timeoutMs = 60_000, env, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: env ?? process.env, cwd });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // EPIPE when the command exits without reading stdin
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });
}

async function lab(...args) {
  const r = await run("bash", [LAB, ...args], { timeoutMs: 9 * 60_000 });
  return r;
}

async function labOk(...args) {
  const r = await lab(...args);
  assert.equal(r.code, 0, `lab.sh ${args.join(" ")} failed:\n${r.stderr}${r.stdout}`);
  return r;
}

/** `lab.sh env` as an object. */
async function labEnv() {
  const { stdout } = await labOk("env");
  return Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((l) => {
        const i = l.indexOf("=");
        return [l.slice(0, i), l.slice(i + 1)];
      }),
  );
}

let env; // lab.sh env
let info; // parsed lab.json
let knownHosts; // our own known_hosts, made from the pinned keys in lab.json

function readInfo() {
  info = JSON.parse(readFileSync(env.LAB_STATE_FILE, "utf8"));
  knownHosts = join(tmp, "known_hosts");
  writeFileSync(knownHosts, info.hosts.map((h) => `${h.address} ${h.hostKey}\n`).join(""));
  return info;
}

function sshArgs(host, knownHostsFile = knownHosts) {
  return [
    "-i",
    info.sshKey,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${knownHostsFile}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "ConnectTimeout=5",
    "-o",
    "LogLevel=ERROR",
    "-p",
    String(host.port),
    `${info.user}@${host.address}`,
  ];
}

/** Run a shell script on a host over SSH (pinned host key). */
function ssh(host, script, opts = {}) {
  return run("ssh", [...sshArgs(host, opts.knownHosts), script], { timeoutMs: 60_000, ...opts });
}

async function sshOk(host, script, opts) {
  const r = await ssh(host, script, opts);
  assert.equal(r.code, 0, `on ${host.name}: ${script}\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** Can the root namespace open a TCP connection to addr:port within ms? */
function tcpOpen(address, port, ms = 2000) {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(ms, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

const alive = (pid) => pid > 0 && existsSync(`/proc/${pid}`);

/** PIDs of the systemd-nspawn processes running hosts of this lab (read from /proc). */
function labNspawnPids() {
  const pids = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let cmd;
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // gone meanwhile
    }
    if (cmd[0]?.endsWith("systemd-nspawn") && cmd.includes(`--network-namespace-path=/run/netns/${info.bridge}-${cmd[cmd.indexOf("-M") + 1]}`)) {
      pids.push(Number(d));
    }
  }
  return pids.sort((a, b) => a - b);
}
const host = (name) => info.hosts.find((h) => h.name === name);

before(async () => {
  assert.equal(process.getuid(), 0, "the lab tests need root");
  env = await labEnv();
  const t0 = Date.now();
  const r = await labOk("up", String(HOSTS));
  console.log(`# lab up (${HOSTS} hosts) took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  process.stderr.write(r.stderr);
  readInfo();
});

after(() => rmSync(tmp, { recursive: true, force: true }));

test("lab.sh refuses to run without root, clearly", async () => {
  // A copy nobody can read, wherever the checkout is (a clone under /root is not readable by others).
  const dir = mkdtempSync(join(tmpdir(), "lab-noroot-"));
  const copy = join(dir, "lab.sh");
  copyFileSync(LAB, copy);
  chmodSync(dir, 0o755);
  chmodSync(copy, 0o755);
  const r = await run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "bash", copy, "up"], { cwd: dir });
  rmSync(dir, { recursive: true, force: true });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /needs root/);
});

test("up writes lab.json with the lab key and pinned host keys", async () => {
  assert.equal(info.stateFile, env.LAB_STATE_FILE);
  assert.equal(info.hosts.length, HOSTS);
  const key = statSync(info.sshKey);
  assert.equal(key.mode & 0o777, 0o600, "lab key must be mode 0600");
  assert.match(readFileSync(info.sshKey, "utf8"), /BEGIN OPENSSH PRIVATE KEY/);
  assert.match(info.sshPublicKey, /^ssh-ed25519 AAAA/);
  const base = info.subnet.replace(/\.0\/24$/, "");
  info.hosts.forEach((h, i) => {
    assert.equal(h.name, `${env.LAB_PREFIX}${i + 1}`);
    assert.equal(h.address, `${base}.${11 + i}`);
    assert.equal(h.port, 22);
    assert.match(h.hostKey, /^ssh-ed25519 AAAA[0-9A-Za-z+/]+=*$/);
    assert.match(h.fingerprint, /^SHA256:[0-9A-Za-z+/]{43}$/);
  });
  assert.equal(new Set(info.hosts.map((h) => h.hostKey)).size, HOSTS, "host keys must differ per host");
  // The fingerprint is the one of the pinned key.
  for (const h of info.hosts) {
    const f = join(tmp, `${h.name}.pub`);
    writeFileSync(f, `${h.hostKey}\n`);
    const r = await run("ssh-keygen", ["-l", "-E", "sha256", "-f", f]);
    assert.equal(r.stdout.split(" ")[1], h.fingerprint);
  }
});

test("every host answers SSH with its pinned key and systemd is 'running'", async () => {
  for (const h of info.hosts) {
    // What the server presents, read independently of lab.sh.
    const scan = await run("ssh-keyscan", ["-T", "5", "-t", "ed25519", h.address]);
    const served = scan.stdout.split("\n").find((l) => l.includes("ssh-ed25519"));
    assert.equal(served?.split(" ").slice(1).join(" "), h.hostKey, `${h.name} serves another key`);

    const out = await sshOk(h, "hostname; systemctl is-system-running; id -u");
    assert.deepEqual(out.split("\n"), [h.name, "running", "0"]);
    const sshd = await sshOk(h, "sshd -T | grep -Ei '^(permitrootlogin|passwordauthentication|kbdinteractiveauthentication) '");
    assert.match(sshd, /permitrootlogin without-password|permitrootlogin prohibit-password/);
    assert.match(sshd, /passwordauthentication no/);
    // SFTP is there for later Rampart work.
    await sshOk(h, "test -x /usr/lib/openssh/sftp-server && command -v python3 sudo nft ip curl");
  }
  // Pinning is real: another host's key for this address is refused.
  const wrong = join(tmp, "wrong_known_hosts");
  const [a, b] = info.hosts;
  writeFileSync(wrong, `${a.address} ${b.hostKey}\n`);
  const r = await ssh(a, "true", { knownHosts: wrong });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /host key|HOST IDENTIFICATION|verification failed/i);
});

const marker = `/root/lab-isolation-${randomBytes(6).toString("hex")}`;

test("hosts have their own filesystem, identity and network namespace", async () => {
  const [a, ...others] = info.hosts;
  await sshOk(a, `echo hello > ${marker}`);
  assert.equal(await sshOk(a, `cat ${marker}`), "hello");
  for (const h of others) {
    assert.equal(await sshOk(h, `test -e ${marker} && echo present || echo absent`), "absent", h.name);
  }
  assert.equal(existsSync(marker), false, "file leaked into the root namespace");

  const ids = new Set();
  for (const h of info.hosts) {
    ids.add(await sshOk(h, "cat /etc/machine-id"));
    // Only its own address, and no default route: the lab subnet is all it can reach.
    assert.equal(await sshOk(h, "ip -4 -o addr show dev eth0 | awk '{print $4}'"), `${h.address}/24`);
    assert.equal(await sshOk(h, "ip route show default; ip -6 route show default"), "");
    const r = await ssh(h, "ip route get 192.0.2.1");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unreachable/i);
    // Names of the other hosts resolve locally.
    assert.equal(await sshOk(h, `getent hosts ${others[0]?.name ?? a.name} | awk '{print $1}'`), (others[0] ?? a).address);
  }
  assert.equal(ids.size, HOSTS, "machine-ids must differ");
});

test("nothing is routed off the machine; the apt cacher serves only Debian", async () => {
  assert.equal(readFileSync(`/proc/sys/net/ipv4/conf/${info.bridge}/forwarding`, "utf8").trim(), "0");
  // The cacher listens on the bridge address only.
  const ss = await run("ss", ["-ltnH", "sport = :3142"]);
  const listeners = ss.stdout
    .trim()
    .split("\n")
    .map((l) => l.split(/\s+/)[3]);
  assert.deepEqual(listeners, [`${info.bridgeAddress}:3142`]);
  // Anything but Debian's archive is refused without being fetched (the URL
  // is on loopback so nothing would leave even if it were not).
  const refused = await run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-x", info.aptProxy, "http://127.0.0.1:9/nothing"]);
  assert.equal(refused.stdout, "403");
  // The base image is minimal.
  const h = info.hosts[0];
  assert.equal(await sshOk(h, "for p in nginx haproxy mariadb-server; do dpkg -s $p >/dev/null 2>&1 && echo $p; done; true"), "");
  assert.match(await sshOk(h, "apt-config dump Acquire::http::Proxy"), new RegExp(info.aptProxy.replaceAll(".", "\\.")));
});

test("apt-get install nginx works on a host and serves the root namespace", { timeout: 5 * 60_000 }, async () => {
  const h = info.hosts[1] ?? info.hosts[0];
  const t0 = Date.now();
  await sshOk(h, "apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get -q install -y nginx", { timeoutMs: 4 * 60_000 });
  console.log(`# apt-get install nginx took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(await sshOk(h, "systemctl is-active nginx"), "active");
  const page = await run("curl", ["-sS", "-m", "5", "-w", "\n%{http_code}", `http://${h.address}/`]);
  assert.equal(page.code, 0, page.stderr);
  assert.match(page.stdout, /Welcome to nginx/);
  assert.match(page.stdout, /\n200$/);
  // Only that host got nginx.
  for (const o of info.hosts.filter((x) => x !== h)) assert.equal(await tcpOpen(o.address, 80, 1000), false);
});

test("an nftables policy-drop ruleset on one host blocks that host only", async () => {
  const target = info.hosts.at(-1);
  const others = info.hosts.filter((h) => h !== target);
  assert.equal(await tcpOpen(target.address, 22), true);
  await sshOk(target, "nft -f - && nft list tables", {
    input: "table inet lab_test {\n chain input {\n  type filter hook input priority 0; policy drop;\n  iif lo accept\n }\n}\n",
  });
  try {
    // From the root namespace and from another host: blocked.
    assert.equal(await tcpOpen(target.address, 22), false, "policy drop did not block");
    assert.equal(await sshOk(others[0], `timeout 2 bash -c '</dev/tcp/${target.address}/22' && echo open || echo blocked`), "blocked");
    // Everyone else is unaffected, and the ruleset lives in that host only.
    for (const o of others) {
      assert.equal(await tcpOpen(o.address, 22), true, `${o.name} became unreachable`);
      assert.equal(await sshOk(o, "nft list tables"), "");
    }
    if (others.length > 1) {
      assert.equal(await sshOk(others[0], `timeout 2 bash -c '</dev/tcp/${others[1].address}/22' && echo open || echo blocked`), "open");
    }
    const rootRules = await run("nft", ["list", "tables"]);
    assert.doesNotMatch(rootRules.stdout, /lab_test/);
  } finally {
    // SSH is blocked now; remove the table from outside, through the host's netns.
    const r = await run("ip", ["netns", "exec", target.netns, "nft", "delete", "table", "inet", "lab_test"]);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(await tcpOpen(target.address, 22), true);
});

test("up while up is a no-op", async () => {
  const before = readFileSync(env.LAB_STATE_FILE, "utf8");
  const t0 = Date.now();
  const r = await labOk("up", String(HOSTS));
  const took = Date.now() - t0;
  assert.match(r.stderr, /already up/);
  assert.ok(took < 5000, `no-op up took ${took} ms`);
  assert.equal(readFileSync(env.LAB_STATE_FILE, "utf8"), before, "lab.json changed");
  assert.equal(await sshOk(info.hosts[0], `cat ${marker}`), "hello", "host was recreated");
  for (const h of info.hosts) assert.ok(alive(h.pid), `${h.name} nspawn gone`);
});

test("up refuses a subnet that is already routed", async () => {
  // A second lab (own bridge, state and hosts dirs) on the running lab's subnet.
  const stateDir = "/run/rampart-lab-refusal-test";
  const r = await run("bash", [LAB, "up", "1"], {
    env: {
      ...process.env,
      LAB_SUBNET: info.subnet,
      LAB_BRIDGE: "rlabrefuse",
      LAB_STATE_DIR: stateDir,
      LAB_HOSTS_DIR: "/var/lib/rampart-lab-refusal-test",
    },
  });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /already in use/);
  assert.equal(existsSync(stateDir), false);
  assert.equal(existsSync("/sys/class/net/rlabrefuse"), false);
});

test("up after a crashed up cleans the leftovers first", { timeout: 4 * 60_000 }, async () => {
  await labOk("down");
  // Start an `up` and SIGKILL it (and its helpers) once the hosts are booting.
  const child = spawn("bash", [LAB, "up", String(HOSTS)], { detached: true, stdio: "ignore" });
  const hostsDir = join(env.LAB_STATE_DIR, "hosts");
  const last = `${env.LAB_PREFIX}${HOSTS}`;
  const deadline = Date.now() + 60_000;
  while (!existsSync(join(hostsDir, last, "nspawn.pid")) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(existsSync(join(hostsDir, last, "nspawn.pid")), "crash-test up never booted the hosts");
  process.kill(-child.pid, "SIGKILL"); // the lab.sh process group (hosts run in their own sessions)
  const orphans = readdirSync(hostsDir).map((n) => Number(readFileSync(join(hostsDir, n, "nspawn.pid"), "utf8").split(" ")[0]));
  assert.ok(orphans.some(alive), "expected hosts left running by the crashed up");
  assert.equal(existsSync(env.LAB_STATE_FILE), false);
  const st = await lab("status");
  assert.equal(st.code, 3);
  assert.match(st.stdout, /leftovers/);

  const r = await labOk("up", String(HOSTS));
  assert.match(r.stderr, /leftovers/);
  for (const pid of orphans) assert.equal(alive(pid), false, `orphan host ${pid} still alive`);
  readInfo();
  for (const h of info.hosts) assert.equal(await sshOk(h, "systemctl is-system-running"), "running");
  // Exactly one nspawn per host: every systemd-nspawn for this lab is a recorded one.
  assert.deepEqual(
    labNspawnPids(),
    info.hosts.map((h) => h.pid).sort((a, b) => a - b),
  );
});

test("down removes every process, mount, netns, veth, bridge and cgroup of the lab", async () => {
  const pids = info.hosts.flatMap((h) => [h.pid, h.leaderPid]);
  const acng = Number(readFileSync(join(env.LAB_STATE_DIR, "apt-cacher-ng.pid"), "utf8").split(" ")[0]);
  pids.push(acng);
  assert.ok(pids.every(alive));

  const t0 = Date.now();
  await labOk("down");
  console.log(`# lab down took ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  for (const pid of pids) assert.equal(alive(pid), false, `process ${pid} survived`);
  const netns = (await run("ip", ["netns", "list"])).stdout;
  assert.doesNotMatch(netns, new RegExp(`^${info.bridge}-`, "m"));
  const links = (await run("ip", ["-o", "link", "show"])).stdout;
  assert.doesNotMatch(links, new RegExp(`: ${info.bridge}[:@-]`));
  const mounts = readFileSync("/proc/self/mountinfo", "utf8");
  assert.doesNotMatch(mounts, new RegExp(env.LAB_HOSTS_DIR.replaceAll("/", "\\/")));
  assert.doesNotMatch(mounts, new RegExp(`overlay-${info.bridge}-`));
  for (const root of readdirSync("/sys/fs/cgroup")) {
    assert.equal(existsSync(`/sys/fs/cgroup/${root}/rampart-lab-${info.bridge}`), false, `cgroup left in ${root}`);
  }
  const memcg = readFileSync("/proc/self/cgroup", "utf8").match(/^\d+:memory:(.*)$/m);
  if (memcg) assert.equal(existsSync(`/sys/fs/cgroup/memory${memcg[1]}/rampart-lab-${info.bridge}`), false);
  assert.equal((await run("nft", ["list", "tables"])).stdout.includes(`rampart_lab_${info.bridge}`), false);
  // (Checked locally: with the bridge gone, connecting to the lab subnet
  // would follow the default route off the machine.)
  const listen = (await run("ss", ["-ltnH", "sport = :3142"])).stdout;
  assert.equal(listen.includes(`${info.bridgeAddress}:3142`), false, "apt-cacher-ng still listening");
  assert.equal(existsSync(env.LAB_STATE_DIR), false);
  assert.equal(existsSync(env.LAB_HOSTS_DIR), false);
  assert.deepEqual(labNspawnPids(), []);

  // A second down is a no-op; status says down; the image stays cached.
  await labOk("down");
  assert.equal((await lab("status")).code, 3);
  assert.ok(existsSync(join(env.LAB_IMAGE, "complete")), "image cache was removed");
});
