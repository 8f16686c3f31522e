// A simulated Debian host for the planner's property tests: it interprets plan
// actions the way the real commands behave (including apt starting a service
// with its stock configuration) and answers the observe probes in the observe
// script's output format, so the real parser reads it. It proves the planner's
// logic; the lab tests prove the commands on real hosts.
import { createHash } from "node:crypto";
import type { Action, Resource } from "@/server/provision/resources";
import { archiveMarker, PENDING_DIR, pendingPath } from "@/server/provision/resources";
import { OBSERVE_CONTENT_LIMIT } from "@/server/provision/observe";
import type { MysqlStatement } from "@/server/provision/mysql/types";

export interface SimPath {
  type: "file" | "directory";
  content: string;
  mode: number;
  owner: string;
  group: string;
}
export interface SimService {
  enabled: boolean;
  active: boolean;
  /** Fingerprint of the configuration the running service has read. */
  loaded: string;
}

/** What installing a package does on Debian: stock files, and a started, enabled service. */
const PACKAGE_EFFECTS: Record<string, { files: Record<string, string>; service?: string }> = {
  nginx: { files: { "/etc/nginx/sites-enabled/default": "server { listen 80 default_server; }\n", "/etc/nginx/nginx.conf": "include /etc/nginx/conf.d/*.conf;\n" }, service: "nginx" },
  haproxy: { files: { "/etc/haproxy/haproxy.cfg": "global\n  daemon\n" }, service: "haproxy" },
  // Started at once on every address, without TLS: a later restart must pick up Rampart's arguments.
  "prometheus-node-exporter": { files: { "/etc/default/prometheus-node-exporter": 'ARGS=""\n' }, service: "prometheus-node-exporter" },
  "prometheus-mysqld-exporter": { files: { "/etc/default/prometheus-mysqld-exporter": 'ARGS=""\n' }, service: "prometheus-mysqld-exporter" },
  "mariadb-server": { files: { "/etc/mysql/mariadb.conf.d/50-server.cnf": "[mysqld]\nbind-address = 127.0.0.1\n" }, service: "mariadb" },
  "prometheus-nginx-exporter": { files: { "/etc/default/prometheus-nginx-exporter": 'ARGS=""\n' }, service: "prometheus-nginx-exporter" },
};

const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** The database server's own state, as the mysql probe reads it. */
export interface SimMysql {
  schemas: Set<string>;
  users: Map<string, { user: string; host: string; hash: string; ssl: string; select: boolean; process: boolean; replSlave: boolean; dbs: string[] }>;
  readOnly: boolean;
  replica: { host: string; port: number; user: string; io: string; sql: string } | null;
  marker: string | null;
}

export class SimHost {
  packages = new Set<string>();
  mysql: SimMysql = { schemas: new Set(["mysql", "information_schema", "performance_schema", "sys"]), users: new Map(), readOnly: false, replica: null, marker: null };
  paths = new Map<string, SimPath>();
  services = new Map<string, SimService>();
  users = new Set<string>(["root"]);

  /** `watched`: the files each unit reads (its configuration), to tell whether it runs the current one. */
  constructor(private readonly watched: Map<string, string[]>) {}

  configOf(unit: string): string {
    return sha((this.watched.get(unit) ?? []).map((p) => `${p}=${this.paths.get(p)?.content ?? "<absent>"}`).join("\n"));
  }

  apply(a: Action): void {
    switch (a.op) {
      case "apt-install":
        for (const p of a.packages) {
          if (this.packages.has(p)) continue;
          this.packages.add(p);
          const fx = PACKAGE_EFFECTS[p];
          for (const [path, content] of Object.entries(fx?.files ?? {})) if (!this.paths.has(path)) this.paths.set(path, { type: "file", content, mode: 0o644, owner: "root", group: "root" });
          if (fx?.service) this.services.set(fx.service, { enabled: true, active: true, loaded: this.configOf(fx.service) });
        }
        return;
      case "mkdir":
        this.paths.set(a.path, { type: "directory", content: "", mode: a.mode, owner: a.owner, group: a.group });
        return;
      case "chmod": {
        const p = this.paths.get(a.path);
        if (!p) throw new Error(`chmod: ${a.path} does not exist`);
        Object.assign(p, { mode: a.mode, owner: a.owner, group: a.group });
        return;
      }
      case "write":
        for (const n of a.notify) this.markPending(n.unit, n.how);
        this.paths.set(a.path, { type: "file", content: a.content, mode: a.mode, owner: a.owner, group: a.group });
        return;
      case "remove":
        for (const n of a.notify) this.markPending(n.unit, n.how);
        this.paths.delete(a.path);
        return;
      case "useradd":
        this.users.add(a.name);
        return;
      case "unpack":
        this.paths.set(a.path, { type: "directory", content: "", mode: 0o755, owner: "root", group: "root" });
        this.paths.set(archiveMarker(a.path), { type: "file", content: a.sha256, mode: 0o644, owner: "root", group: "root" });
        return;
      case "mysql":
        if (!this.services.get("mariadb")?.active) throw new Error("mariadb: can't connect to local server through socket");
        for (const st of a.statements) this.mysqlStatement(st);
        return;
      case "systemctl": {
        const s = this.service(a.unit);
        if (!s) throw new Error(`systemctl ${a.verb}: unit ${a.unit} not found`);
        if (a.verb === "enable") s.enabled = true;
        else if (a.verb === "start") {
          if (!s.active) Object.assign(s, { active: true, loaded: this.configOf(a.unit) });
          if (a.thenReload) s.loaded = this.configOf(a.unit);
        } else if (a.verb === "reload") {
          if (!s.active) throw new Error(`systemctl reload: ${a.unit} is not active`);
          s.loaded = this.configOf(a.unit);
        } else Object.assign(s, { active: true, loaded: this.configOf(a.unit) });
        if (a.clears) this.paths.delete(pendingPath(a.unit));
        return;
      }
    }
  }

  private mysqlStatement(st: MysqlStatement): void {
    const m = this.mysql;
    switch (st.do) {
      case "create-database":
        m.schemas.add(st.name);
        return;
      case "user": {
        const privs = st.grants.flatMap((g) => (g.on === "*.*" ? g.privileges : []));
        const dbs = st.grants.flatMap((g) => (g.on === "*.*" ? [] : [g.on.replace(/^`(.*)`\.\*$/, "$1")]));
        m.users.set(`${st.user}@${st.host}`, {
          user: st.user,
          host: st.host,
          hash: st.hash,
          ssl: st.requireSsl ? "ANY" : "",
          select: privs.includes("SELECT"),
          process: privs.includes("PROCESS"),
          replSlave: privs.includes("REPLICATION SLAVE"),
          dbs,
        });
        return;
      }
      case "drop-user":
        m.users.delete(`${st.user}@${st.host}`);
        return;
      case "read-only":
        m.readOnly = st.on;
        return;
      case "stop-replication":
        m.replica = null;
        m.marker = null;
        return;
      case "replicate":
        m.replica = { host: st.source.host, port: st.source.port, user: st.source.user, io: "Yes", sql: "Yes" };
        m.marker = st.marker.key;
        return;
      case "start-replication":
        if (m.replica) Object.assign(m.replica, { io: "Yes", sql: "Yes" });
        return;
      case "reset-binlog":
      case "seed":
        return;
    }
  }

  private mysqlOutput(): string[] {
    const out: string[] = [];
    const m = this.mysql;
    if (m.marker) out.push(`marker\t${m.marker}`);
    if (!this.packages.has("mariadb-server")) return [...out, "absent"];
    if (!this.services.get("mariadb")?.active) return [...out, "down\tERROR 2002 (HY000): Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)"];
    const yn = (b: boolean) => (b ? "Y" : "N");
    out.push(`vars\t1\t${m.readOnly ? 1 : 0}\t1\t1\t1\tYES\t\t\t\t10.11.6-MariaDB`);
    for (const u of m.users.values()) out.push(["user", u.user, u.host, u.hash, u.ssl, yn(u.select), yn(u.process), yn(u.replSlave), "N"].join("\t"));
    for (const u of m.users.values()) for (const db of u.dbs) out.push(["dbgrant", u.user, u.host, db].join("\t"));
    for (const s of m.schemas) out.push(`schema\t${s}`);
    if (m.replica)
      out.push(
        "slave\tMaster_Host\tMaster_User\tMaster_Port\tSlave_IO_Running\tSlave_SQL_Running\tUsing_Gtid\tMaster_SSL_Allowed\tMaster_SSL_Verify_Server_Cert\tSeconds_Behind_Master",
        `slave\t${m.replica.host}\t${m.replica.user}\t${m.replica.port}\t${m.replica.io}\t${m.replica.sql}\tSlave_Pos\tYes\tYes\t0`,
      );
    return out;
  }

  /** A unit is known once its package is installed or its unit file is written. */
  private service(unit: string): SimService | undefined {
    const known = this.services.get(unit);
    if (known) return known;
    if (!this.paths.has(`/etc/systemd/system/${unit}.service`)) return undefined;
    const s = { enabled: false, active: false, loaded: "" };
    this.services.set(unit, s);
    return s;
  }

  private markPending(unit: string, how: "reload" | "restart") {
    if (this.paths.get(pendingPath(unit))?.content === "restart\n") return;
    this.paths.set(PENDING_DIR, this.paths.get(PENDING_DIR) ?? { type: "directory", content: "", mode: 0o755, owner: "root", group: "root" });
    this.paths.set(pendingPath(unit), { type: "file", content: `${how}\n`, mode: 0o644, owner: "root", group: "root" });
  }

  /** What the observe script would print for these resources. */
  observeOutput(resources: readonly Resource[]): string {
    const out: string[] = [];
    resources.forEach((r, n) => {
      if (r.kind === "package") out.push(this.packages.has(r.name) ? `@@ ${n} pkg installed 1.0-1` : `@@ ${n} pkg absent`);
      else if (r.kind === "archive") {
        const p = this.paths.get(archiveMarker(r.path));
        out.push(p ? `@@ ${n} path file 644 root root ${sha(p.content)}` : `@@ ${n} path absent`);
      } else if (r.kind === "file" || r.kind === "directory") {
        const p = this.paths.get(r.path);
        if (!p) return out.push(`@@ ${n} path absent`);
        const want = r.kind === "file" && r.content !== null ? sha(r.content) : "-";
        const h = p.type === "file" && want !== "-" ? sha(p.content) : "-";
        out.push(`@@ ${n} path ${p.type} ${(p.mode & 0o7777).toString(8)} ${p.owner} ${p.group} ${h}`);
        const wantContent = r.kind === "file" && r.content !== null && !r.secret;
        if (p.type === "file" && wantContent && h !== want && Buffer.byteLength(p.content) <= OBSERVE_CONTENT_LIMIT) out.push(Buffer.from(p.content).toString("base64"));
      } else if (r.kind === "service") {
        out.push(`@@ ${n} svc`);
        const s = this.service(r.name);
        if (!s) out.push("LoadState=not-found", "UnitFileState=", "ActiveState=inactive");
        else out.push("LoadState=loaded", `UnitFileState=${s.enabled ? "enabled" : "disabled"}`, `ActiveState=${s.active ? "active" : "inactive"}`);
        const pending = this.paths.get(pendingPath(r.name));
        if (pending) out.push(`Pending=${pending.content.trim()}`);
      } else if (r.kind === "mysql") {
        out.push(`@@ ${n} mysql`, ...this.mysqlOutput());
      } else if (r.kind === "user") {
        out.push(`@@ ${n} user`);
        if (this.users.has(r.name)) out.push(`${r.name}:x:999:999::/nonexistent:/usr/sbin/nologin`);
      }
    });
    return out.join("\n") + "\n";
  }
}
