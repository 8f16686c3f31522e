// One simulated Debian host, driven by the argument vectors Rampart sends (not by
// the planner's Actions): a file system with modes, owners and mtimes, packages
// that install what Debian's do (and start their daemon with the stock
// configuration), users, systemd units with processes and start times, and
// daemons that read their configuration when they start or reload (nginx's and
// HAProxy's listeners, certificates and backends come from the files Rampart
// uploaded, as of the last start or reload). It answers the observe script in its
// own output format, HAProxy's `show stat`, nginx -t / haproxy -c (referenced
// files must exist) and the upload, backup, pending-reload and check-or-roll-back
// scripts. A command it does not know exits 127 and is counted.
//
// The scripts are recognised by their exact text, taken from Rampart's own
// builders where they are exported: a script that changes shows up as unknown.
import { createHash } from "node:crypto";
import path from "node:path";
import { observeCommand } from "@/server/provision/observe";
import { hostAuditCommand } from "@/server/provision/host-audit";
import { showStatCommand } from "@/server/provision/haproxy-stat";
import { OBSERVE_CONTENT_LIMIT } from "@/server/provision/observe";
import { type Action, renderAction } from "@/server/provision/resources";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface Entry {
  type: "file" | "directory";
  content: Buffer;
  mode: number;
  owner: string;
  group: string;
  /** Epoch seconds (ms resolution, like stat -c %.3Y). */
  mtime: number;
}

interface Proc {
  pid: number;
  name: string;
  /** Epoch seconds. */
  start: number;
}

/** What a daemon read when it last started or reloaded. */
interface Running {
  listens: Array<{ address: string; port: number }>;
  /** nginx: the TLS material each port serves. */
  tls: Map<number, { cert: string; key: string; ca: string | null }>;
  /** HAProxy: the site bundle, the backends of "web", and whether its runtime API socket exists. */
  siteBundle: string | null;
  backends: Array<{ name: string; address: string; drained: boolean }>;
  statsSocket: boolean;
  loadedAt: number;
}

interface Unit {
  enabled: boolean;
  active: boolean;
  procs: Proc[];
  running: Running | null;
}

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const now = () => Date.now() / 1000;
const ok = (stdout = "", stderr = ""): Result => ({ code: 0, stdout, stderr });
const fail = (code: number, stderr: string, stdout = ""): Result => ({ code, stdout, stderr: stderr.endsWith("\n") ? stderr : `${stderr}\n` });

// ---- The scripts Rampart sends, by their $0 name, with their text where it can be taken from Rampart's code.
const dummyWrite: Action = { op: "write", path: "/x", content: "", mode: 0o644, owner: "root", group: "root", secret: false, notify: [{ unit: "u", how: "reload" }], backup: true, check: ["true"] };
const writeSteps = renderAction(dummyWrite);
const SCRIPTS: Record<string, string | null> = {
  "rampart-observe": observeCommand([]).argv[2]!,
  rampart: hostAuditCommand("x").argv[2]!,
  "rampart-apt": renderAction({ op: "apt-install", packages: ["x"] }).before[0]!.argv[2]!,
  "rampart-backup": writeSteps.before[0]!.argv[2]!,
  "rampart-pending": writeSteps.before[1]!.argv[2]!,
  "rampart-keep": writeSteps.before[2]!.argv[2]!,
  "rampart-check": writeSteps.after[0]!.argv[2]!,
  "rampart-unpack": renderAction({ op: "unpack", path: "/x", sha256: "0", data: Buffer.alloc(0) }).after[0]!.argv[2]!,
  "rampart-stat": showStatCommand().argv[2]!,
  // Not exported by Rampart (module constants of the executor and the verify phase): known by name.
  "rampart-upload": null,
  "rampart-daemon-log": null,
};

/** Packages as Debian 12 ships them: version, files, and the daemon they start. */
const PACKAGES: Record<string, { version: string; files?: Record<string, string>; dirs?: string[]; unit?: string; users?: string[] }> = {
  nginx: {
    version: "1.22.1-9",
    dirs: ["/etc/nginx", "/etc/nginx/conf.d", "/etc/nginx/sites-available", "/etc/nginx/sites-enabled", "/var/log/nginx", "/var/www", "/var/www/html"],
    files: {
      "/etc/nginx/nginx.conf":
        "user www-data;\nworker_processes auto;\npid /run/nginx.pid;\nevents { worker_connections 768; }\nhttp {\n\tinclude /etc/nginx/conf.d/*.conf;\n\tinclude /etc/nginx/sites-enabled/*;\n}\n",
      "/etc/nginx/sites-available/default": "server {\n\tlisten 80 default_server;\n\troot /var/www/html;\n\tserver_name _;\n}\n",
      "/etc/nginx/sites-enabled/default": "server {\n\tlisten 80 default_server;\n\troot /var/www/html;\n\tserver_name _;\n}\n",
      "/var/log/nginx/error.log": "",
      "/var/www/html/index.nginx-debian.html": "<h1>Welcome to nginx!</h1>\n",
    },
    unit: "nginx",
  },
  haproxy: {
    version: "2.6.12-1+deb12u1",
    dirs: ["/etc/haproxy", "/run/haproxy", "/var/lib/haproxy"],
    files: {
      "/etc/haproxy/haproxy.cfg":
        "global\n\tlog /dev/log local0\n\tchroot /var/lib/haproxy\n\tstats socket /run/haproxy/admin.sock mode 660 level admin\n\tstats timeout 30s\n\tuser haproxy\n\tgroup haproxy\n\tdaemon\n\ndefaults\n\tlog global\n\tmode http\n\ttimeout connect 5000\n\ttimeout client 50000\n\ttimeout server 50000\n",
    },
    unit: "haproxy",
    users: ["haproxy"],
  },
  python3: { version: "3.11.2-1+b1", files: { "/usr/bin/python3": "" } },
  socat: { version: "1.7.4.4-2", files: { "/usr/bin/socat": "" } },
};

const DAEMON_PROCS: Record<string, { name: string; workers: number }> = {
  nginx: { name: "nginx", workers: 2 },
  haproxy: { name: "haproxy", workers: 1 },
  "rampart-app": { name: "python3", workers: 0 },
};

/** Counts of what the host was asked, shared by every host of a sim process. */
export interface Tally {
  unknown: Map<string, { count: number; example: string }>;
  commands: Map<string, number>;
}

export function newTally(): Tally {
  return { unknown: new Map(), commands: new Map() };
}

export class FleetHost {
  private readonly fs = new Map<string, Entry>();
  private readonly packages = new Map<string, string>();
  private readonly units = new Map<string, Unit>();
  private readonly users = new Map<string, { uid: number; home: string; shell: string }>();
  private readonly boot = now() - 3600;
  private nextPid = 400;

  constructor(
    readonly name: string,
    readonly address: string,
    private readonly tally: Tally,
  ) {
    for (const d of ["/", "/etc", "/etc/systemd", "/etc/systemd/system", "/var", "/var/lib", "/var/log", "/opt", "/run", "/usr", "/usr/bin", "/usr/sbin", "/tmp", "/root", "/home"])
      this.fs.set(d, { type: "directory", content: Buffer.alloc(0), mode: d === "/tmp" ? 0o1777 : d === "/root" ? 0o700 : 0o755, owner: "root", group: "root", mtime: this.boot });
    this.users.set("root", { uid: 0, home: "/root", shell: "/bin/bash" });
    this.users.set("www-data", { uid: 33, home: "/var/www", shell: "/usr/sbin/nologin" });
    this.users.set("nobody", { uid: 65534, home: "/nonexistent", shell: "/usr/sbin/nologin" });
    this.units.set("ssh", {
      enabled: true,
      active: true,
      procs: [{ pid: 310, name: "sshd", start: this.boot + 2 }],
      running: { ...emptyRunning(this.boot), listens: [{ address: "0.0.0.0", port: 22 }] },
    });
  }

  // ---- SFTP (uploads as root): the temporary file, written in place.

  sftpOpen(file: string, mode: number | undefined): string | null {
    const parent = this.fs.get(path.posix.dirname(file));
    if (!parent || parent.type !== "directory") return "No such file";
    const existing = this.fs.get(file);
    if (existing?.type === "directory") return "Is a directory";
    this.fs.set(file, { type: "file", content: Buffer.alloc(0), mode: (mode ?? 0o644) & 0o7777, owner: "root", group: "root", mtime: now() });
    return null;
  }

  sftpWrite(file: string, offset: number, data: Buffer): boolean {
    const e = this.fs.get(file);
    if (!e || e.type !== "file") return false;
    const end = offset + data.length;
    const buf = e.content.length >= end ? Buffer.from(e.content) : Buffer.concat([e.content, Buffer.alloc(end - e.content.length)]);
    data.copy(buf, offset);
    e.content = buf;
    e.mtime = now();
    return true;
  }

  // ---- What the daemons serve, for the TLS responders

  /** nginx's TLS material on a port, as of its last start or reload (null: nothing listens there). */
  tlsOn(port: number): { cert: string; key: string; ca: string | null } | null {
    const u = this.units.get("nginx");
    if (!u?.active || !u.running) return null;
    return u.running.tls.get(port) ?? null;
  }

  /** HAProxy's site bundle, when it runs and listens on :443. */
  siteBundle(): string | null {
    const u = this.units.get("haproxy");
    if (!u?.active || !u.running || !u.running.listens.some((l) => l.port === 443)) return null;
    return u.running.siteBundle;
  }

  // ---- Commands

  exec(argv: string[], stdin: Buffer): Result {
    const count = (what: string) => this.tally.commands.set(what, (this.tally.commands.get(what) ?? 0) + 1);
    const unknown = (why: string): Result => {
      const key = argv[0] === "sh" && argv[1] === "-c" ? `sh -c <script> ${argv[3] ?? ""}` : argv.slice(0, 2).join(" ");
      const u = this.tally.unknown.get(key) ?? { count: 0, example: argv.join(" ").slice(0, 300) };
      u.count++;
      this.tally.unknown.set(key, u);
      return fail(127, `fleet-sim: ${why}: ${argv.join(" ").slice(0, 200)}`);
    };
    if (argv.length === 0) return unknown("empty command");
    if (argv[0] === "sh" && argv[1] === "-c") {
      const name = argv[3] ?? "";
      if (!(name in SCRIPTS)) return unknown(`unknown script $0=${name}`);
      const expected = SCRIPTS[name];
      if (expected !== null && expected !== argv[2]) return unknown(`the ${name} script is not the one Rampart's code renders`);
      count(name);
      return this.script(name, argv.slice(4), stdin) ?? unknown(`unexpected arguments to ${name}`);
    }
    const r = this.program(argv);
    if (r) count(argv[0] === "systemctl" ? `systemctl ${argv[1]}` : argv[0]!);
    return r ?? unknown("unknown command");
  }

  private script(name: string, a: string[], stdin: Buffer): Result | null {
    switch (name) {
      case "rampart-observe": {
        const o = this.observe(a);
        if (o.unknownProbe === null) return ok(o.out);
        this.tally.unknown.set(`observe probe ${o.unknownProbe}`, { count: (this.tally.unknown.get(`observe probe ${o.unknownProbe}`)?.count ?? 0) + 1, example: a.join(" ").slice(0, 300) });
        return fail(2, `rampart-observe: unknown probe ${o.unknownProbe}`, o.out);
      }
      case "rampart": {
        // The audit log: mkdir -p /var/lib/rampart && printf "%s\n" "$1" >> "$2"
        const [line, log] = a;
        if (line === undefined || !log) return null;
        this.mkdirP("/var/lib/rampart");
        this.append(log, `${line}\n`);
        return ok();
      }
      case "rampart-apt":
        return this.aptInstall(a);
      case "rampart-backup": {
        const [dir, p] = a;
        if (!dir || !p) return null;
        const b = `${dir}${p}`;
        if (!this.fs.has(b) && this.fs.has(p)) {
          this.mkdirP(dir, 0o700);
          this.mkdirP(path.posix.dirname(b));
          this.copy(p, b);
        }
        return ok();
      }
      case "rampart-pending": {
        const [dir, p, how] = a;
        if (!dir || !p || !how) return null;
        this.mkdirP(dir);
        if (this.fs.get(p)?.content.toString() !== "restart\n") this.writeFile(p, `${how}\n`);
        return ok();
      }
      case "rampart-keep": {
        const [p, prev] = a;
        if (!p || !prev) return null;
        this.fs.delete(prev);
        if (this.fs.has(p)) this.copy(p, prev);
        return ok();
      }
      case "rampart-check": {
        const [p, prev, ...check] = a;
        if (!p || !prev || check.length === 0) return null;
        const r = this.program(check);
        if (!r) return null;
        if (r.code === 0) {
          this.fs.delete(prev);
          return ok(r.stdout, r.stderr);
        }
        if (this.fs.has(prev)) {
          this.fs.set(p, this.fs.get(prev)!);
          this.fs.delete(prev);
        } else this.fs.delete(p);
        return fail(1, `${r.stderr}rampart: the check failed; the previous ${p} is kept\n`, r.stdout);
      }
      case "rampart-unpack": {
        const [dir, tarball, hash, marker] = a;
        if (!dir || !tarball || hash === undefined || !marker) return null;
        if (!this.fs.has(tarball)) return fail(2, `tar: ${tarball}: Cannot open: No such file or directory`);
        this.fs.delete(marker);
        for (const k of [...this.fs.keys()]) if (k === dir || k.startsWith(`${dir}/`)) this.fs.delete(k);
        this.mkdirP(dir);
        this.writeFile(marker, hash);
        this.fs.delete(tarball);
        return ok();
      }
      case "rampart-stat":
        return this.showStat();
      case "rampart-upload": {
        // After SFTP: chown "$2" "$3"; chmod "$1" "$3"; mv -f -- "$3" "$4" (the temporary file is removed on failure).
        const [mode, owner, tmp, dest] = a;
        if (!mode || !owner || !tmp || !dest) return null;
        if (stdin.length > 0 || !this.fs.has(tmp)) {
          // The stdin variant (cat > "$3" first), for logins that are not root.
          const parent = this.fs.get(path.posix.dirname(tmp));
          if (!parent) return fail(2, `sh: 1: cannot create ${tmp}: Directory nonexistent`);
          this.fs.set(tmp, { type: "file", content: Buffer.from(stdin), mode: 0o600, owner: "root", group: "root", mtime: now() });
        }
        const [u, g] = owner.split(":");
        if (!this.users.has(u!) || !this.users.has(g ?? u!)) {
          this.fs.delete(tmp);
          return fail(1, `chown: invalid user: '${owner}'`);
        }
        const e = this.fs.get(tmp)!;
        Object.assign(e, { owner: u, group: g ?? u, mode: parseInt(mode, 8) });
        this.fs.set(dest, e);
        this.fs.delete(tmp);
        return ok();
      }
      case "rampart-daemon-log":
        return ok("");
    }
    return null;
  }

  private program(argv: string[]): Result | null {
    const [cmd, ...a] = argv;
    const operand = () => (a[a.length - 2] === "--" ? a[a.length - 1]! : null);
    switch (cmd) {
      case "true":
        return ok();
      case "mkdir": {
        const p = operand();
        if (a[0] !== "-p" || !p) return null;
        const parent = this.fs.get(p);
        if (parent && parent.type !== "directory") return fail(1, `mkdir: cannot create directory '${p}': File exists`);
        this.mkdirP(p);
        return ok();
      }
      case "chown": {
        const p = operand();
        if (!p || a.length !== 3) return null;
        const e = this.fs.get(p);
        if (!e) return fail(1, `chown: cannot access '${p}': No such file or directory`);
        const [u, g] = a[0]!.split(":");
        if (!this.users.has(u!) || !this.users.has(g ?? u!)) return fail(1, `chown: invalid user: '${a[0]}'`);
        Object.assign(e, { owner: u, group: g ?? u });
        return ok();
      }
      case "chmod": {
        const p = operand();
        if (!p || a.length !== 3 || !/^[0-7]{3,5}$/.test(a[0]!)) return null;
        const e = this.fs.get(p);
        if (!e) return fail(1, `chmod: cannot access '${p}': No such file or directory`);
        e.mode = parseInt(a[0]!, 8) & 0o7777;
        return ok();
      }
      case "rm": {
        const p = operand();
        if (a[0] !== "-f" || !p) return null;
        if (this.fs.get(p)?.type === "directory") return fail(1, `rm: cannot remove '${p}': Is a directory`);
        this.fs.delete(p);
        return ok();
      }
      case "useradd": {
        const name = operand();
        if (!name) return null;
        if (this.users.has(name)) return fail(9, `useradd: user '${name}' already exists`);
        const opt = (flag: string) => (a.indexOf(flag) >= 0 ? a[a.indexOf(flag) + 1] : undefined);
        this.users.set(name, { uid: 999 - (this.users.size - 3), home: opt("--home-dir") ?? `/home/${name}`, shell: opt("--shell") ?? "/bin/sh" });
        return ok();
      }
      case "systemctl":
        return this.systemctl(a);
      case "nginx":
        if (a.join(" ") !== "-t -q" && a.join(" ") !== "-t") return null;
        if (!this.packages.has("nginx")) return fail(127, "sh: 1: nginx: not found");
        return this.nginxConfig().error ? fail(1, `nginx: [emerg] ${this.nginxConfig().error}\nnginx: configuration file /etc/nginx/nginx.conf test failed`) : ok();
      case "haproxy": {
        if (a[0] !== "-c") return null;
        if (!this.packages.has("haproxy")) return fail(127, "sh: 1: haproxy: not found");
        const f = a[a.indexOf("-f") + 1] ?? "/etc/haproxy/haproxy.cfg";
        const r = this.haproxyConfig(f);
        return r.error ? fail(1, `[ALERT]    (1) : config : ${r.error}\n[ALERT]    (1) : config : Fatal errors found in configuration.`) : ok();
      }
      case "kill":
        return ok();
    }
    return null;
  }

  // ---- Files

  private mkdirP(p: string, mode = 0o755) {
    const parts = p.split("/").filter(Boolean);
    let cur = "";
    for (const part of parts) {
      cur += `/${part}`;
      if (!this.fs.has(cur)) this.fs.set(cur, { type: "directory", content: Buffer.alloc(0), mode, owner: "root", group: "root", mtime: now() });
    }
  }

  private writeFile(p: string, content: string, mode = 0o644) {
    const e = this.fs.get(p);
    if (e && e.type === "file") Object.assign(e, { content: Buffer.from(content), mtime: now() });
    else this.fs.set(p, { type: "file", content: Buffer.from(content), mode, owner: "root", group: "root", mtime: now() });
  }

  private append(p: string, text: string) {
    const e = this.fs.get(p);
    if (e?.type === "file") Object.assign(e, { content: Buffer.concat([e.content, Buffer.from(text)]), mtime: now() });
    else this.writeFile(p, text);
  }

  private copy(from: string, to: string) {
    const e = this.fs.get(from)!;
    this.fs.set(to, { ...e, content: Buffer.from(e.content) });
  }

  private text(p: string): string | null {
    const e = this.fs.get(p);
    return e?.type === "file" ? e.content.toString("utf8") : null;
  }

  // ---- Packages

  private aptInstall(pkgs: string[]): Result | null {
    if (pkgs.length === 0) return null;
    const unknownPkg = pkgs.find((p) => !PACKAGES[p]);
    const out = [
      "Hit:1 http://deb.debian.org/debian bookworm InRelease",
      "Hit:2 http://deb.debian.org/debian bookworm-updates InRelease",
      "Hit:3 http://deb.debian.org/debian-security bookworm-security InRelease",
      "Reading package lists...",
      "Reading package lists...",
      "Building dependency tree...",
      "Reading state information...",
    ];
    if (unknownPkg) return fail(100, `E: Unable to locate package ${unknownPkg}`, out.join("\n") + "\n");
    const fresh = pkgs.filter((p) => !this.packages.has(p));
    for (const p of pkgs.filter((p) => this.packages.has(p))) out.push(`${p} is already the newest version (${PACKAGES[p]!.version}).`);
    if (fresh.length > 0) out.push("The following NEW packages will be installed:", `  ${fresh.join(" ")}`);
    out.push(`0 upgraded, ${fresh.length} newly installed, 0 to remove and 0 not upgraded.`);
    for (const p of fresh) {
      const spec = PACKAGES[p]!;
      out.push(`Selecting previously unselected package ${p}.`, `Preparing to unpack .../${p}_${spec.version}_amd64.deb ...`, `Unpacking ${p} (${spec.version}) ...`);
    }
    for (const p of fresh) {
      const spec = PACKAGES[p]!;
      this.packages.set(p, spec.version);
      for (const d of spec.dirs ?? []) this.mkdirP(d);
      // --force-confold: a configuration file already there is kept.
      for (const [f, c] of Object.entries(spec.files ?? {})) if (!this.fs.has(f)) (this.mkdirP(path.posix.dirname(f)), this.writeFile(f, c, f.startsWith("/usr/bin/") ? 0o755 : 0o644));
      for (const u of spec.users ?? []) if (!this.users.has(u)) this.users.set(u, { uid: 100 + this.users.size, home: `/var/lib/${u}`, shell: "/usr/sbin/nologin" });
      out.push(`Setting up ${p} (${spec.version}) ...`);
      if (spec.unit) {
        const u = this.unit(spec.unit)!;
        u.enabled = true;
        out.push(`Created symlink /etc/systemd/system/multi-user.target.wants/${spec.unit}.service → /lib/systemd/system/${spec.unit}.service.`);
        // Debian starts the daemon with its stock configuration (unless that fails).
        if (!u.active) this.start(spec.unit, u);
      }
    }
    if (fresh.length > 0) out.push("Processing triggers for man-db (2.11.2-2) ...");
    return ok(out.join("\n") + "\n");
  }

  // ---- systemd

  /** A unit is known once its package is installed or its unit file is written. */
  private unit(name: string): Unit | undefined {
    const n = name.replace(/\.service$/, "");
    const known = this.units.get(n);
    if (known) return known;
    const fromPackage = Object.entries(PACKAGES).some(([pkg, p]) => p.unit === n && this.packages.has(pkg));
    if (!fromPackage && !this.fs.has(`/etc/systemd/system/${n}.service`)) return undefined;
    const u: Unit = { enabled: false, active: false, procs: [], running: null };
    this.units.set(n, u);
    return u;
  }

  private systemctl(a: string[]): Result | null {
    const verb = a[0];
    if (verb === "daemon-reload" && a.length === 1) return ok();
    const name = a[a.length - 1]!;
    if (a[a.length - 2] !== "--") return null;
    const n = name.replace(/\.service$/, "");
    const u = this.unit(n);
    const notFound = (what: string) => fail(5, `Failed to ${what} ${n}.service: Unit ${n}.service not found.`);
    switch (verb) {
      case "enable":
        if (!u) return fail(1, `Failed to enable unit: Unit file ${n}.service does not exist.`);
        if (!u.enabled) {
          u.enabled = true;
          return ok("", `Created symlink /etc/systemd/system/multi-user.target.wants/${n}.service → /etc/systemd/system/${n}.service.\n`);
        }
        return ok();
      case "disable":
        if (a[1] !== "--now") return null;
        if (!u) return fail(1, `Failed to disable unit: Unit file ${n}.service does not exist.`);
        Object.assign(u, { enabled: false, active: false, procs: [], running: null });
        return ok();
      case "start":
        if (!u) return notFound("start");
        return u.active ? ok() : this.start(n, u);
      case "restart":
        if (!u) return notFound("restart");
        Object.assign(u, { active: false, procs: [], running: null });
        return this.start(n, u);
      case "reload": {
        if (!u) return notFound("reload");
        if (!u.active) return fail(1, `${n}.service is not active, cannot reload.`);
        if (!DAEMON_PROCS[n] || n === "rampart-app") return fail(1, `Failed to reload ${n}.service: Job type reload is not applicable for unit ${n}.service.`);
        // Like the real daemons: a configuration they cannot load is refused, the old one keeps
        // running, and systemctl still reports success (the running-config check catches it).
        const running = this.read(n);
        if (running) {
          u.running = running;
          const master = u.procs[0]!;
          u.procs = [master, ...this.spawn(n, DAEMON_PROCS[n]!.workers)];
        }
        return ok();
      }
    }
    return null;
  }

  private spawn(n: string, count: number): Proc[] {
    const t = now();
    return Array.from({ length: count }, () => ({ pid: this.nextPid++, name: DAEMON_PROCS[n]?.name ?? n, start: t }));
  }

  private start(n: string, u: Unit): Result {
    const running = this.read(n);
    if (!running)
      return fail(1, `Job for ${n}.service failed because the control process exited with error code.\nSee "systemctl status ${n}.service" and "journalctl -xeu ${n}.service" for details.`);
    for (const l of running.listens) {
      const holder = [...this.units].find(
        ([k, o]) => k !== n && o.active && o.running?.listens.some((x) => x.port === l.port && (x.address === "0.0.0.0" || l.address === "0.0.0.0" || x.address === l.address)),
      );
      if (holder)
        return fail(
          1,
          `Job for ${n}.service failed because the control process exited with error code. (${n}: bind() to ${l.address}:${l.port} failed (98: Address already in use), held by ${holder[0]})`,
        );
    }
    Object.assign(u, { active: true, running, procs: this.spawn(n, 1 + (DAEMON_PROCS[n]?.workers ?? 0)) });
    return ok();
  }

  /** What the daemon would read now; null when it could not start with it. */
  private read(n: string): Running | null {
    if (n === "nginx") {
      const c = this.nginxConfig();
      return c.error ? null : c.running;
    }
    if (n === "haproxy") {
      const c = this.haproxyConfig("/etc/haproxy/haproxy.cfg");
      return c.error ? null : c.running;
    }
    const unitFile = this.text(`/etc/systemd/system/${n}.service`);
    if (unitFile === null) return emptyRunning(now());
    const field = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(unitFile)?.[1]?.trim();
    const user = field("User");
    const wd = field("WorkingDirectory");
    const envFile = field("EnvironmentFile");
    const exe = field("ExecStart")?.split(/\s+/) ?? [];
    if (user && !this.users.has(user)) return null;
    if (wd && this.fs.get(wd)?.type !== "directory") return null;
    if (envFile && !this.fs.has(envFile)) return null;
    if (exe[0] && !this.fs.has(exe[0])) return null;
    if (exe[1]?.startsWith("/") && !this.fs.has(exe[1])) return null;
    const port = Number(/^PORT="?(\d+)"?$/m.exec((envFile && this.text(envFile)) || "")?.[1] ?? 0);
    return { ...emptyRunning(now()), listens: port ? [{ address: "127.0.0.1", port }] : [] };
  }

  private nginxConfig(): { error: string | null; running: Running } {
    const running = emptyRunning(now());
    const files = [...this.fs.keys()]
      .filter((p) => (p.startsWith("/etc/nginx/conf.d/") && p.endsWith(".conf") && p.split("/").length === 5) || (p.startsWith("/etc/nginx/sites-enabled/") && p.split("/").length === 5))
      .sort();
    const defaults = new Set<number>();
    for (const f of files) {
      const lines = (this.text(f) ?? "").split("\n");
      let depth = 0;
      let block: ServerBlock | null = null;
      const blocks: ServerBlock[] = [];
      for (const raw of lines) {
        const l = raw.replace(/#.*$/, "").trim();
        if (depth === 0 && /^server\s*\{$/.test(l)) {
          block = { listens: [] };
          blocks.push(block);
        }
        const ref =
          /^(ssl_certificate|ssl_certificate_key|ssl_client_certificate|ssl_trusted_certificate|proxy_ssl_trusted_certificate|proxy_ssl_certificate|proxy_ssl_certificate_key)\s+([^;\s]+);$/.exec(l);
        if (ref) {
          const file = ref[2]!;
          const content = this.text(file);
          if (content === null) return { error: `cannot load certificate "${file}": BIO_new_file() failed (SSL: error:80000002:system library::No such file or directory) in ${f}`, running };
          if (ref[1]!.endsWith("_key") ? !/PRIVATE KEY-----/.test(content) : !/BEGIN CERTIFICATE-----/.test(content)) return { error: `cannot load "${file}": PEM_read_bio failed in ${f}`, running };
          if (block && depth === 1) {
            if (ref[1] === "ssl_certificate") block.cert = content;
            if (ref[1] === "ssl_certificate_key") block.key = content;
            if (ref[1] === "ssl_client_certificate") block.ca = content;
          }
        }
        const listen = /^listen\s+([^;]+);$/.exec(l);
        if (listen && block && depth === 1) {
          const [where, ...flags] = listen[1]!.split(/\s+/);
          const colon = where!.lastIndexOf(":");
          const port = Number(colon >= 0 ? where!.slice(colon + 1) : where);
          const address = colon >= 0 ? where!.slice(0, colon).replace(/^\[|\]$/g, "") : "0.0.0.0";
          if (!Number.isInteger(port)) return { error: `invalid port in "${where}" of the "listen" directive in ${f}`, running };
          if (flags.includes("default_server")) {
            if (defaults.has(port)) return { error: `a duplicate default server for 0.0.0.0:${port} in ${f}`, running };
            defaults.add(port);
          }
          block.listens.push({ address: address === "*" ? "0.0.0.0" : address, port, ssl: flags.includes("ssl") });
        }
        depth += (l.match(/\{/g) ?? []).length - (l.match(/\}/g) ?? []).length;
      }
      for (const b of blocks) {
        for (const l of b.listens) {
          if (!running.listens.some((x) => x.port === l.port && x.address === l.address)) running.listens.push({ address: l.address, port: l.port });
          if (!l.ssl) continue;
          if (!b.cert || !b.key) return { error: `no "ssl_certificate" is defined for the listen ... ssl directive in ${f}`, running };
          if (!running.tls.has(l.port)) running.tls.set(l.port, { cert: b.cert, key: b.key, ca: b.ca ?? null });
        }
      }
    }
    return { error: null, running };
  }

  private haproxyConfig(file: string): { error: string | null; running: Running } {
    const running = emptyRunning(now());
    const cfg = this.text(file);
    if (cfg === null) return { error: `Cannot open configuration file/directory ${file} : No such file or directory`, running };
    let section = "";
    for (const raw of cfg.split("\n")) {
      const l = raw.replace(/#.*$/, "").trim();
      if (!l) continue;
      const w = l.split(/\s+/);
      if (/^(global|defaults|frontend|backend|listen)$/.test(w[0]!) && !raw.startsWith(" ") && !raw.startsWith("\t")) {
        section = `${w[0]} ${w[1] ?? ""}`.trim();
        continue;
      }
      for (const k of ["crt", "ca-file"]) {
        const i = w.indexOf(k);
        if (i < 0) continue;
        const f = w[i + 1]!;
        const content = this.text(f);
        if (content === null) return { error: `parsing [${file}] : '${k}' : unable to load '${f}' : No such file or directory.`, running };
        if (k === "crt" && (!/BEGIN CERTIFICATE-----/.test(content) || !/PRIVATE KEY-----/.test(content))) return { error: `parsing [${file}] : 'crt' : '${f}' has no certificate and key.`, running };
      }
      if (w[0] === "stats" && w[1] === "socket") running.statsSocket = true;
      if (w[0] === "bind") {
        const where = w[1]!;
        const colon = where.lastIndexOf(":");
        const address = where.slice(0, colon).replace(/^\[|\]$/g, "");
        running.listens.push({ address: address === "" || address === "*" ? "0.0.0.0" : address, port: Number(where.slice(colon + 1)) });
        const crt = w.indexOf("crt");
        if (crt >= 0 && Number(where.slice(colon + 1)) === 443) running.siteBundle = this.text(w[crt + 1]!);
      }
      if (w[0] === "server" && section === "backend web") {
        const weight = w.indexOf("weight");
        running.backends.push({ name: w[1]!, address: w[2] ?? "", drained: weight >= 0 && w[weight + 1] === "0" });
      }
    }
    return { error: null, running };
  }

  private showStat(): Result {
    if (!this.packages.has("socat")) return fail(127, "sh: 1: socat: not found");
    const u = this.units.get("haproxy");
    if (!u?.active || !u.running?.statsSocket)
      return fail(1, `${new Date().toISOString().replace("T", " ").slice(0, 19)} socat[1234] E connect(5, AF=1 "/run/haproxy/admin.sock", 25): No such file or directory`);
    const cols = STAT_COLUMNS;
    const row = (v: Record<string, string | number>) => cols.map((c) => String(v[c] ?? "")).join(",");
    const since = Math.floor(now() - u.running.loadedAt);
    const lines = [`# ${cols.join(",")}`];
    for (const fe of ["http", "https"]) lines.push(row({ pxname: fe, svname: "FRONTEND", status: "OPEN", type: 0, pid: 1, iid: 2 }));
    u.running.backends.forEach((b, i) =>
      lines.push(
        row({
          pxname: "web",
          svname: b.name,
          status: "UP",
          weight: b.drained ? 0 : 1,
          act: 1,
          bck: 0,
          lastchg: since,
          pid: 1,
          iid: 4,
          sid: i + 1,
          type: 2,
          check_status: "L7OK",
          check_code: 200,
          check_duration: 1,
          check_desc: "Layer7 check passed",
        }),
      ),
    );
    lines.push(row({ pxname: "web", svname: "BACKEND", status: "UP", weight: u.running.backends.length, lastchg: since, pid: 1, iid: 4, type: 1 }));
    lines.push(row({ pxname: "acme_challenge", svname: "BACKEND", status: "DOWN", pid: 1, iid: 5, type: 1 }));
    return ok(lines.join("\n") + "\n\n");
  }

  // ---- Observation: the observe script's output for these probe arguments

  private observe(a: string[]): { out: string; unknownProbe: string | null } {
    const pendingDir = a[0]!;
    const out: string[] = [];
    let n = 0;
    for (let i = 1; i < a.length; n++) {
      const k = a[i++];
      switch (k) {
        case "pkg": {
          const v = this.packages.get(a[i++]!);
          out.push(v ? `@@ ${n} pkg installed ${v}` : `@@ ${n} pkg absent`);
          break;
        }
        case "path": {
          const [p, want, withContent] = [a[i]!, a[i + 1]!, a[i + 2]!];
          i += 3;
          const e = this.fs.get(p);
          if (!e) {
            out.push(`@@ ${n} path absent`);
            break;
          }
          const h = e.type === "file" && want !== "-" ? sha(e.content) : "-";
          out.push(`@@ ${n} path ${e.type} ${(e.mode & 0o7777).toString(8)} ${e.owner} ${e.group} ${h}`);
          if (e.type === "file" && withContent === "1" && h !== want && e.content.length <= OBSERVE_CONTENT_LIMIT) out.push(e.content.toString("base64"));
          break;
        }
        case "svc": {
          const name = a[i++]!;
          out.push(`@@ ${n} svc`);
          const u = this.unit(name);
          if (!u) out.push("LoadState=not-found", "UnitFileState=", "ActiveState=inactive");
          else out.push("LoadState=loaded", `UnitFileState=${u.enabled ? "enabled" : "disabled"}`, `ActiveState=${u.active ? "active" : "inactive"}`);
          const pending = this.text(`${pendingDir}/${name}`);
          if (pending !== null) out.push(`Pending=${pending.replace(/\n$/, "")}`);
          break;
        }
        case "user": {
          const name = a[i++]!;
          out.push(`@@ ${n} user`);
          const u = this.users.get(name);
          if (u) out.push(`${name}:x:${u.uid}:${u.uid}::${u.home}:${u.shell}`);
          break;
        }
        case "listen":
          out.push(`@@ ${n} listen`, ...this.listeners());
          break;
        case "pre":
          // The real script reads ahead here (one process for many names); this host answers each probe directly.
          i += 2;
          n--;
          break;
        case "fw":
          // No nftables here: topologies on simulated hosts run with their firewall off.
          i += 4;
          out.push(`@@ ${n} fw`, "client 127.0.0.1", "enabled not-found");
          break;
        case "fresh": {
          const unit = a[i]!;
          const count = Number(a[i + 1]);
          const files = a.slice(i + 2, i + 2 + count);
          i += 2 + count;
          out.push(`@@ ${n} fresh`);
          const u = this.units.get(unit.replace(/\.service$/, ""));
          if (u?.active) for (const p of u.procs) out.push(`start ${Math.floor((p.start - this.boot) * 100)}`);
          const t = now();
          out.push(`clock ${t.toFixed(9)} ${(t - this.boot).toFixed(2)} 100`);
          for (const f of files) {
            const e = this.fs.get(f);
            if (e) out.push(`mtime ${e.mtime.toFixed(3)} ${f}`);
          }
          break;
        }
        default:
          // What the real script does with a probe it does not know (exit 2), counted.
          return { out: out.length ? `${out.join("\n")}\n` : "", unknownProbe: k ?? "" };
      }
    }
    return { out: out.length ? `${out.join("\n")}\n` : "", unknownProbe: null };
  }

  /** `ss -Htlnp`, then the unit of each listening process (from its cgroup). */
  private listeners(): string[] {
    const lines: string[] = [];
    const units: string[] = [];
    for (const [name, u] of this.units) {
      if (!u.active || !u.running) continue;
      for (const l of u.running.listens) {
        const users = u.procs.map((p) => `("${p.name}",pid=${p.pid},fd=${6 + (p.pid % 3)})`).join(",");
        lines.push(`LISTEN 0      511          ${l.address}:${l.port}        0.0.0.0:*    users:(${users})`);
      }
      if (u.running.listens.length > 0) for (const p of u.procs) units.push(`unit ${p.pid} ${name}.service`);
    }
    return [...lines, ...units];
  }
}

/** A `server { … }` block of nginx's configuration: where it listens, and its TLS files' contents. */
interface ServerBlock {
  listens: Array<{ address: string; port: number; ssl: boolean }>;
  cert?: string;
  key?: string;
  ca?: string;
}

function emptyRunning(at: number): Running {
  return { listens: [], tls: new Map(), siteBundle: null, backends: [], statsSocket: false, loadedAt: at };
}

// HAProxy 2.6's `show stat` columns (the first 66; the parser finds them by name).
const STAT_COLUMNS = (
  "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle," +
  "lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot," +
  "cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc"
).split(",");
