// Resources: the idempotent units a plan is made of. Each has the same shape:
//   observe  — a probe (what the observe script reads on the host),
//   diff     — pure: desired + observed → the actions that would converge it,
//   steps    — each action rendered as commands (argument arrays) or an upload.
// Nothing here does I/O. The firewall and the database server's own state
// (accounts, replication: server/provision/mysql) have the same shape.
import { createHash, X509Certificate } from "node:crypto";
import path from "node:path";
import { createTwoFilesPatch } from "diff";
import type { Command } from "./command";
import type { Tier } from "../schemas/topology";
import type { EffectiveRule } from "./firewall/types";
import { lockoutProblem } from "./firewall/match";
import type { MysqlObserved, MysqlRes } from "./mysql/state";
import { diffMysql, FLAVOURS, REPLICATION_MARKER } from "./mysql/state";
import type { MysqlStatement } from "./mysql/types";
import { Secret } from "../secrets/secret";
import { armRollbackCommand, checkRulesetCommand, confirmCommand, FIREWALL_DIR, FIREWALL_PERSISTED, FIREWALL_TABLE, loadRulesetCommand, pendingRuleset, REMOVE_SCRIPT } from "./firewall/render";

// ---- Desired state

interface Base {
  tier: Tier;
}
export interface PackageRes extends Base {
  kind: "package";
  name: string;
}
export interface DirectoryRes extends Base {
  kind: "directory";
  path: string;
  mode: number;
  owner: string;
  group: string;
}
export interface FileRes extends Base {
  kind: "file";
  path: string;
  /** null: the file must not exist. */
  content: string | null;
  mode: number;
  owner: string;
  group: string;
  /** Never read back, never diffed, never shown (keys, passwords). */
  secret?: boolean;
  /** Checks the new file in place (nginx -t, haproxy -c); if it fails, the previous file is put back and the step fails. */
  check?: string[];
}
export interface ServiceRes extends Base {
  kind: "service";
  name: string;
  /** Resource ids of files whose change needs a reload (or a restart). */
  reloadOn: string[];
  restartOn: string[];
  /** Checks the configuration before a reload or restart (nginx -t, haproxy -c). */
  check?: string[];
  /** The resource id of the unit file Rampart writes for it: systemd re-reads it before enable, start and restart. */
  unitFile?: string;
}
export interface UserRes extends Base {
  kind: "user";
  name: string;
  home: string;
}
/** A .tar.gz unpacked into a directory of its own (named after its hash, so a new archive is a new directory). */
export interface ArchiveRes extends Base {
  kind: "archive";
  path: string;
  sha256: string;
  data: Buffer;
}
/** The server's firewall: Rampart's own nftables table, applied with a commit-confirm. */
export interface FirewallRes extends Base {
  kind: "firewall";
  /** The file nft loads; null: Rampart manages no firewall here (one it left is removed). */
  ruleset: string | null;
  hash: string;
  /** The rules the rule set renders, for the lockout guard. */
  rules: EffectiveRule[];
  host: { name: string; sshPort: number };
  /** How long the host waits for a new connection before it restores the previous rules. */
  confirmWindowS: number;
  /** An admin asked to apply it although the host rolled it back before. */
  force: boolean;
}
export type { MysqlRes };
export type Resource = PackageRes | DirectoryRes | FileRes | ServiceRes | UserRes | ArchiveRes | FirewallRes | MysqlRes;

/** Next to an unpacked archive (outside it, so no archive can replace it): which archive it came from. */
export const archiveMarker = (dir: string) => `${dir}.unpacked`;

export function resourceId(r: Resource): string {
  switch (r.kind) {
    case "package":
      return `package:${r.name}`;
    case "directory":
    case "file":
      return `${r.kind}:${r.path}`;
    case "service":
      return `service:${r.name}`;
    case "user":
      return `user:${r.name}`;
    case "archive":
      return `archive:${r.path}`;
    case "firewall":
      return `firewall:inet ${FIREWALL_TABLE}`;
    case "mysql":
      return "mysql:server";
  }
}

export const describeResource = (r: Resource) => resourceId(r).replace(":", " ");

// ---- Observed state (what the observe script reported)

export type Observed =
  | MysqlObserved
  | { kind: "package"; status: string; version: string | null }
  | { kind: "path"; type: "absent" | "file" | "directory" | "other"; mode: number | null; owner: string | null; group: string | null; sha256: string | null; content: string | null }
  | { kind: "service"; load: string; unitFile: string; active: string; pending: "" | "reload" | "restart" }
  | { kind: "user"; exists: boolean; home: string | null }
  | {
      kind: "firewall";
      /** nft is installed. */
      nft: boolean;
      /** sha256 of the live table's listing, and of the listing recorded when Rampart last confirmed its rules. */
      live: string | null;
      recorded: string | null;
      /** The listings themselves, when they differ (for the plan's diff). */
      liveText: string | null;
      recordedText: string | null;
      /** The hash of the rule set Rampart last confirmed here. */
      applied: string | null;
      /** sha256 of the rule set loaded at boot (its text when it differs from the desired one). */
      persisted: string | null;
      persistedText: string | null;
      /** systemctl is-enabled of Rampart's boot unit. */
      enabled: string;
      /** The trace a rollback left: which rule set it undid, and when. */
      rolledBack: { hash: string; at: Date } | null;
      /** Rollbacks armed and not fired or cancelled yet (hash prefixes). */
      pendingRollbacks: string[];
      /** The address the host sees Rampart's connection come from ($SSH_CONNECTION). */
      client: string | null;
    };

// ---- Actions: what must happen, as data (the simulator in the tests interprets these)

export type Action =
  | { op: "apt-install"; packages: string[] }
  | { op: "mkdir"; path: string; mode: number; owner: string; group: string }
  | { op: "chmod"; path: string; mode: number; owner: string; group: string }
  | { op: "write"; path: string; content: string; mode: number; owner: string; group: string; secret: boolean; notify: PendingMark[]; backup?: boolean; check?: string[] }
  | { op: "remove"; path: string; notify: PendingMark[]; backup?: boolean }
  | { op: "useradd"; name: string; home: string }
  | { op: "unpack"; path: string; sha256: string; data: Buffer }
  | { op: "firewall-apply"; ruleset: string; hash: string; confirmWindowS: number }
  | { op: "firewall-remove" }
  /** Statements on the database server (a seed among them streams the source's dump in). */
  | { op: "mysql"; flavour: keyof typeof FLAVOURS; statements: MysqlStatement[] }
  | {
      op: "systemctl";
      /** disable-now: stop a daemon that holds a port a role needs, and keep it from starting at boot. */
      verb: "enable" | "start" | "reload" | "restart" | "disable-now";
      unit: string;
      check?: string[];
      clears: boolean;
      /** After a start, reload too: a package install may have started the service with its old configuration. */
      thenReload?: boolean;
      /** systemctl daemon-reload first (the unit file is Rampart's). */
      daemonReload?: boolean;
    };

/** A service that must be reloaded or restarted because a file it reads changed. */
export interface PendingMark {
  unit: string;
  how: "reload" | "restart";
}

/** Where a pending reload is remembered on the host, so a run that dies between writing a file and reloading still reloads next time. */
export const PENDING_DIR = "/var/lib/rampart/pending";
export const pendingPath = (unit: string) => `${PENDING_DIR}/${unit}`;

// ---- Validation of names that reach a command line (defence in depth: argv is quoted anyway)

const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const UNIT_NAME = /^[A-Za-z0-9@_.:-]+$/;
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
export function checkResource(r: Resource): void {
  const bad = (what: string) => {
    throw new Error(`invalid ${r.kind} resource: ${what}`);
  };
  if (r.kind === "package" && !PACKAGE_NAME.test(r.name)) bad(`"${r.name}" is not a Debian package name`);
  if (r.kind === "service" && !UNIT_NAME.test(r.name)) bad(`"${r.name}" is not a systemd unit name`);
  if (r.kind === "user" && !USER_NAME.test(r.name)) bad(`"${r.name}" is not a user name`);
  if ((r.kind === "file" || r.kind === "directory" || r.kind === "archive") && (!r.path.startsWith("/") || r.path.includes("/../") || r.path.endsWith("/..")))
    bad(`"${r.path}" is not an absolute path`);
}

// ---- Diff: desired + observed → actions, with the reason for each

export interface Change {
  resource: Resource;
  action: Action;
  /** install | create | update | remove | enable | start | reload | restart */
  verb: string;
  summary: string;
  reason: string;
  diff: string | null;
}

export const sha256 = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");
const octal = (m: number) => (m & 0o7777).toString(8).padStart(4, "0");
/** For chmod: five digits, so GNU chmod also clears a setgid bit a directory inherited. */
const chmodMode = (m: number) => `0${octal(m)}`;

export function diffPackage(r: PackageRes, o: Observed | undefined): Change | null {
  const status = o?.kind === "package" ? o.status : "absent";
  if (status === "installed") return null;
  return {
    resource: r,
    action: { op: "apt-install", packages: [r.name] },
    verb: "install",
    summary: `install ${r.name}`,
    reason: status === "absent" || status === "not-installed" ? `${r.name} is not installed` : `${r.name} is ${status}`,
    diff: null,
  };
}

export function diffDirectory(r: DirectoryRes, o: Observed | undefined): Change | null {
  const p = o?.kind === "path" ? o : null;
  const base = { resource: r, diff: null };
  if (!p || p.type === "absent")
    return { ...base, action: { op: "mkdir", path: r.path, mode: r.mode, owner: r.owner, group: r.group }, verb: "create", summary: `create ${r.path}`, reason: `${r.path} does not exist` };
  if (p.type !== "directory") throw new Error(`${r.path} exists but is not a directory; Rampart will not replace it`);
  const wrong = attributeProblems(r, p);
  if (wrong.length === 0) return null;
  return { ...base, action: { op: "chmod", path: r.path, mode: r.mode, owner: r.owner, group: r.group }, verb: "update", summary: `set ${wrong.join(", ")} of ${r.path}`, reason: wrong.join("; ") };
}

/**
 * `installing`: packages this plan installs on the host first. A file that must not
 * exist is removed anyway when one of them may create it (Debian's nginx ships a
 * default site), since the observation could not see it yet.
 */
export function diffFile(r: FileRes, o: Observed | undefined, notify: PendingMark[], installing: readonly string[] = []): Change | null {
  const p = o?.kind === "path" ? o : null;
  const exists = !!p && p.type !== "absent";
  if (r.content === null) {
    if (!exists && installing.length > 0)
      return {
        resource: r,
        action: { op: "remove", path: r.path, notify, backup: true },
        verb: "remove",
        summary: `remove ${r.path}`,
        reason: `installing ${installing.join(", ")} may create it`,
        diff: null,
      };
    if (!exists) return null;
    return { resource: r, action: { op: "remove", path: r.path, notify, backup: true }, verb: "remove", summary: `remove ${r.path}`, reason: `${r.path} exists and must not`, diff: null };
  }
  if (p && p.type !== "absent" && p.type !== "file") throw new Error(`${r.path} exists but is not a regular file; Rampart will not replace it`);
  // A file Rampart did not write (the package's, the operator's) is kept once in the backup directory.
  // (A package this plan installs may create it before it is written: back that up too.)
  // Secret files Rampart writes (keys, the app's environment) are never kept: a rotated secret must not survive.
  const backup = r.secret ? false : exists ? p!.content === null || !p!.content.includes(MANAGED_MARK) : installing.length > 0;
  const write: Action = { op: "write", path: r.path, content: r.content, mode: r.mode, owner: r.owner, group: r.group, secret: !!r.secret, notify, backup, ...(r.check ? { check: r.check } : {}) };
  // Certificates read as which certificate replaces which, not as lines of base64.
  const certificate = !r.secret && isCertificateFile(r.content);
  if (!exists) {
    if (certificate)
      return { resource: r, action: write, verb: "create", summary: `create ${r.path} (certificate ${certificateFingerprint(r.content)})`, reason: `${r.path} does not exist`, diff: null };
    return { resource: r, action: write, verb: "create", summary: `create ${r.path}`, reason: `${r.path} does not exist`, diff: r.secret ? null : unifiedDiff(r.path, "", r.content) };
  }
  if (p!.sha256 !== sha256(r.content)) {
    const old = p!.content;
    if (certificate)
      return {
        resource: r,
        action: write,
        verb: "update",
        summary: `replace the certificate ${r.path} (${old === null ? "unreadable" : certificateFingerprint(old)} → ${certificateFingerprint(r.content)})`,
        reason: `${r.path} holds another certificate`,
        diff: null,
      };
    return {
      resource: r,
      action: write,
      verb: "update",
      summary: `update ${r.path}`,
      reason: r.secret ? `${r.path} differs (secret: content not shown)` : `${r.path} differs from the desired content`,
      diff: r.secret ? null : old === null ? `(the current ${r.path} could not be read back: it is larger than the observe limit)` : unifiedDiff(r.path, redactCredentials(old), r.content),
    };
  }
  const wrong = attributeProblems(r, p!);
  if (wrong.length === 0) return null;
  return {
    resource: r,
    action: { op: "chmod", path: r.path, mode: r.mode, owner: r.owner, group: r.group },
    verb: "update",
    summary: `set ${wrong.join(", ")} of ${r.path}`,
    reason: wrong.join("; "),
    diff: null,
  };
}

/** A file of PEM certificates only (a certificate and its chain, or a CA). */
export function isCertificateFile(content: string): boolean {
  const rest = content.replace(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g, "").trim();
  return content.includes("-----BEGIN CERTIFICATE-----") && rest === "";
}

/** The first certificate's SHA-256 fingerprint, shortened for reading ("SHA256 1f2e3d4c5b6a7988…"); "not a certificate" when it does not parse. */
export function certificateFingerprint(pem: string): string {
  const first = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem)?.[0];
  try {
    if (!first) return "not a certificate";
    return `SHA256 ${new X509Certificate(first).fingerprint256.replace(/:/g, "").toLowerCase().slice(0, 16)}…`;
  } catch {
    return "not a certificate";
  }
}

function attributeProblems(r: { mode: number; owner: string; group: string }, p: { mode: number | null; owner: string | null; group: string | null }): string[] {
  const wrong: string[] = [];
  if (p.mode !== (r.mode & 0o7777)) wrong.push(`mode ${p.mode === null ? "?" : octal(p.mode)} → ${octal(r.mode)}`);
  if (p.owner !== r.owner || p.group !== r.group) wrong.push(`owner ${p.owner}:${p.group} → ${r.owner}:${r.group}`);
  return wrong;
}

/**
 * A service's actions, given what else this plan changes. `changed` holds the ids
 * of resources this plan changes on the same host.
 */
export function diffService(r: ServiceRes, o: Observed | undefined, changed: ReadonlySet<string>, stale: { path: string; changedAt: number } | null = null): Change[] {
  const s = o?.kind === "service" ? o : { kind: "service" as const, load: "not-found", unitFile: "", active: "inactive", pending: "" as const };
  const out: Change[] = [];
  const base = { resource: r, diff: null };
  const enabled = s.unitFile === "enabled" || s.unitFile === "static" || s.unitFile === "alias";
  const daemonReload = !!r.unitFile;
  if (!enabled)
    out.push({
      ...base,
      action: { op: "systemctl", verb: "enable", unit: r.name, clears: false, daemonReload },
      verb: "enable",
      summary: `enable ${r.name}`,
      reason: `${r.name} is ${s.unitFile || "not installed yet"}`,
    });
  const running = s.active === "active" || s.active === "reloading" || s.active === "activating";
  const restartFor = r.restartOn.filter((id) => changed.has(id));
  const reloadFor = r.reloadOn.filter((id) => changed.has(id));
  const check = r.check;
  if (!running) {
    // A package installed by this plan may have started the service with its stock
    // configuration before ours was written: reload after starting if anything changed.
    const thenReload = reloadFor.length + restartFor.length > 0;
    // A daemon that only restarts for its files is restarted instead (which starts it
    // too): its package may have started it already with the stock configuration.
    const restartInstead = restartFor.length > 0 && r.reloadOn.length === 0;
    out.push({
      ...base,
      action: restartInstead
        ? { op: "systemctl", verb: "restart", unit: r.name, check, clears: true, daemonReload }
        : { op: "systemctl", verb: "start", unit: r.name, check, clears: true, thenReload: thenReload && r.reloadOn.length > 0, daemonReload },
      verb: "start",
      summary: `start ${r.name}`,
      reason: `${r.name} is ${s.load === "not-found" ? "not installed yet" : s.active}`,
    });
  } else if (restartFor.length > 0 || s.pending === "restart") {
    const why = restartFor.length > 0 ? `${restartFor.map((id) => id.replace(":", " ")).join(", ")} changes` : "an earlier run changed its configuration and did not get to restart it";
    out.push({ ...base, action: { op: "systemctl", verb: "restart", unit: r.name, check, clears: true, daemonReload }, verb: "restart", summary: `restart ${r.name}`, reason: why });
  } else if (reloadFor.length > 0 || s.pending === "reload") {
    const why = reloadFor.length > 0 ? `${reloadFor.map((id) => id.replace(":", " ")).join(", ")} changes` : "an earlier run changed its configuration and did not get to reload it";
    out.push({ ...base, action: { op: "systemctl", verb: "reload", unit: r.name, check, clears: true }, verb: "reload", summary: `reload ${r.name}`, reason: why });
  } else if (stale) {
    // The files match, but the daemon runs an older version of them (edited and never
    // reloaded, or a reload the daemon refused while systemd reported success).
    const restart = r.restartOn.includes(`file:${stale.path}`);
    const verb = restart ? "restart" : "reload";
    const why = `${r.name} runs a configuration older than ${stale.path} (changed ${new Date(stale.changedAt * 1000).toISOString()})`;
    out.push({ ...base, action: { op: "systemctl", verb, unit: r.name, check, clears: true, daemonReload: restart && daemonReload }, verb, summary: `${verb} ${r.name}`, reason: why });
  }
  return out;
}

export function diffUser(r: UserRes, o: Observed | undefined): Change | null {
  if (o?.kind === "user" && o.exists) return null;
  return { resource: r, action: { op: "useradd", name: r.name, home: r.home }, verb: "create", summary: `create system user ${r.name}`, reason: `user ${r.name} does not exist`, diff: null };
}

/** What every file Rampart writes says in its first lines. */
export const MANAGED_MARK = "Managed by Rampart";

/**
 * Lines of a file found on a host that look like credentials (HAProxy's "stats auth",
 * userlists, password= settings…) are masked before the file's diff is stored in a plan,
 * which anyone who may read runs can see.
 */
export function redactCredentials(text: string): string {
  return text
    .split("\n")
    .map((l) => (/(pass(word|wd)?|secret|token|auth|credential|private|insecure-password|api[_-]?key)/i.test(l) ? l.replace(/^(\s*\S+)(.*)$/, "$1 [redacted by Rampart]") : l))
    .join("\n");
}

export function diffArchive(r: ArchiveRes, o: Observed | undefined): Change | null {
  const marker = o?.kind === "path" ? o : null;
  if (marker && marker.type === "file" && marker.sha256 === sha256(r.sha256)) return null;
  return {
    resource: r,
    action: { op: "unpack", path: r.path, sha256: r.sha256, data: r.data },
    verb: "create",
    summary: `unpack the app archive into ${r.path}`,
    reason: marker && marker.type !== "absent" ? `${r.path} holds another archive` : `${r.path} does not exist yet`,
    diff: null,
  };
}

/**
 * The firewall: applied when the confirmed rule set is not the desired one, when the
 * live table is missing or was changed on the host, or when the boot file lags. Refused
 * (the host is not planned) while a rollback is pending, when the host rolled this very
 * rule set back (unless forced), and when it would drop SSH from the control plane.
 */
export function diffFirewall(r: FirewallRes, o: Observed | undefined, installing: readonly string[] = []): Change | null {
  const f = o?.kind === "firewall" ? o : null;
  const base = { resource: r, verb: "update" };
  if (r.ruleset === null) {
    if (!f || (!f.applied && !f.live)) return null;
    return { ...base, action: { op: "firewall-remove" }, verb: "remove", summary: `remove table inet ${FIREWALL_TABLE}`, reason: "the topology's firewall is turned off", diff: null };
  }
  if (!f?.nft && !installing.includes("nftables")) throw new Error("nft is not installed and this plan does not install it");
  if (f && f.pendingRollbacks.length > 0)
    throw new Error(`a firewall rollback armed by an earlier run (${f.pendingRollbacks.join(", ")}) is still pending on the host: it fires within the confirm window; plan again after it`);
  if (f?.rolledBack && f.rolledBack.hash.slice(0, 16) === r.hash.slice(0, 16) && !r.force)
    throw new Error(
      `the host rolled this firewall rule set back at ${f.rolledBack.at.toISOString()} (Rampart could not get in over a new connection after loading it): it is not applied again until the rules change, or an admin forces it`,
    );
  const reasons: string[] = [];
  if (!f?.applied) reasons.push("no Rampart firewall on the host yet");
  else if (f.applied !== r.hash) reasons.push("the rules changed");
  if (f?.applied && !f.live) reasons.push(`table inet ${FIREWALL_TABLE} is missing (flushed by nftables.service, or by hand)`);
  else if (f?.live && f.recorded !== f.live) reasons.push(`table inet ${FIREWALL_TABLE} was changed on the host`);
  if (f?.applied === r.hash && (f.persisted !== sha256(r.ruleset) || f.enabled !== "enabled")) reasons.push("the rules loaded at boot differ");
  if (reasons.length === 0) return null;
  if (f?.client) {
    const problem = lockoutProblem(r.rules, r.host, f.client);
    if (problem) throw new Error(problem);
  }
  const handEdit = f?.live && f.recorded && f.live !== f.recorded && f.liveText !== null && f.recordedText !== null;
  return {
    ...base,
    action: { op: "firewall-apply", ruleset: r.ruleset, hash: r.hash, confirmWindowS: r.confirmWindowS },
    summary: `apply the firewall (table inet ${FIREWALL_TABLE}), confirmed over a new connection`,
    reason: reasons.join("; "),
    diff: handEdit ? unifiedDiff(`table inet ${FIREWALL_TABLE}`, f.recordedText!, f.liveText!) : unifiedDiff(FIREWALL_PERSISTED, f?.persistedText ?? "", r.ruleset),
  };
}

/** The database server's databases, accounts, read-only state and replication. */
export function diffMysqlServer(r: MysqlRes, o: Observed | undefined): Change | null {
  const c = diffMysql(r, o?.kind === "mysql" ? o : undefined);
  if (!c) return null;
  const f = FLAVOURS[r.flavour];
  const seed = c.statements.find((s) => s.do === "seed");
  const summary = seed
    ? `load ${seed.from.name}'s data and replicate from it`
    : c.statements.some((s) => s.do === "replicate")
      ? "set up replication"
      : `configure ${f.name} (${c.statements.length} statement${c.statements.length === 1 ? "" : "s"})`;
  return {
    resource: r,
    action: { op: "mysql", flavour: r.flavour, statements: c.statements },
    verb: "update",
    summary,
    reason: c.reasons.join("; "),
    diff: c.statements.map((s) => `+ ${f.describeStatement(s)}`).join("\n"),
  };
}

export function unifiedDiff(path: string, before: string, after: string): string {
  const patch = createTwoFilesPatch(`${path} (on the host)`, `${path} (desired)`, before, after, undefined, undefined, { context: 3 });
  // Drop the "====" header line jsdiff adds; keep the ---/+++ lines.
  return patch
    .split("\n")
    .filter((l, i) => !(i === 0 && l.startsWith("===")))
    .join("\n");
}

// ---- Steps: actions rendered as commands (argv) and uploads

export interface Upload {
  path: string;
  content: string | Buffer;
  mode: number;
  owner: string;
  group: string;
}

export interface RenderedAction {
  /** Run in order; an upload happens after `before` and before `after`. */
  before: Command[];
  upload: Upload | null;
  after: Command[];
  /** Run last, over a NEW connection: the proof Rampart can still get in (a firewall change). */
  confirm?: { command: Command; hash: string; windowS: number };
  /** Between before and after: `source` runs on another host of the topology, its stdout streamed into `sink` here (a replica's seed). */
  pipe?: { from: { serverId: string; name: string }; source: Command; sink: Command };
}

const MARKER_SCRIPT = 'mkdir -p -- "${1%/*}" && printf "%s\\n" "$2" > "$1"';

/** The statements as commands on the database server: SQL on stdin (never on the command line), a seed as a pipe. */
function renderMysql(a: Extract<Action, { op: "mysql" }>): RenderedAction {
  const f = FLAVOURS[a.flavour];
  const out: RenderedAction = { before: [], upload: null, after: [] };
  let batch: MysqlStatement[] = [];
  const flush = () => {
    if (batch.length === 0) return;
    const sql = batch.flatMap((s) => f.statementSql(s)).join(";\n") + ";\n";
    const passwords = batch.flatMap((s) => (s.do === "replicate" ? [s.password] : []));
    const cmd: Command = { argv: [f.client, "--batch", "--connect-timeout=10"], stdin: passwords.length > 0 ? new Secret(sql) : sql, secrets: passwords, timeoutMs: 120_000 };
    (out.pipe ? out.after : out.before).push(cmd);
    const into = out.pipe ? out.after : out.before;
    // The record of the source follows the statements: written once replication is set up, removed once it is forgotten.
    for (const s of batch) {
      if (s.do === "replicate") into.push({ argv: ["sh", "-c", MARKER_SCRIPT, "rampart-marker", s.marker.path, s.marker.key] });
      if (s.do === "stop-replication") into.push({ argv: ["rm", "-f", "--", REPLICATION_MARKER] });
    }
    batch = [];
  };
  for (const s of a.statements) {
    if (s.do !== "seed") {
      batch.push(s);
      continue;
    }
    flush();
    if (out.pipe) throw new Error("one seed per step");
    out.pipe = { from: s.from, source: f.dumpCommand(), sink: f.loadCommand() };
  }
  flush();
  return out;
}

const APT_ENV = { DEBIAN_FRONTEND: "noninteractive" };
// Finishes a dpkg run a cancelled or killed step may have interrupted (only then, as
// it does not wait for the dpkg lock like apt-get does), refreshes the
// package lists, and installs. A constant script: package names arrive as arguments.
const APT_INSTALL_SCRIPT =
  '{ [ -z "$(dpkg --audit 2>/dev/null)" ] || dpkg --configure -a; } && apt-get -q -o DPkg::Lock::Timeout=120 update && apt-get -q -y -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --no-install-recommends -- "$@"';

// A restart already pending is never downgraded to a reload.
const PENDING_SCRIPT = 'mkdir -p -- "$1" && { [ "$(cat -- "$2" 2>/dev/null)" = restart ] || printf "%s\\n" "$3" > "$2"; }';

export const BACKUP_DIR = "/var/lib/rampart/backup";
// Keeps the first version only: later runs never overwrite the original.
const BACKUP_SCRIPT = 'b="$1$2"; [ -e "$b" ] || [ ! -e "$2" ] || { mkdir -p -m 0700 -- "$1" && mkdir -p -- "$(dirname -- "$b")" && cp -a -- "$2" "$b"; }';
const backupCommand = (path: string): Command => ({ argv: ["sh", "-c", BACKUP_SCRIPT, "rampart-backup", BACKUP_DIR, path] });

// (The archive was checked when it was uploaded: files, directories and symbolic links inside it only.)
const UNPACK_SCRIPT =
  'set -e; rm -f -- "$4"; rm -rf -- "$1"; mkdir -p -- "$1"; tar -xzf "$2" -C "$1" --no-same-owner --no-same-permissions; chmod -R u+rwX,go+rX,go-w -- "$1"; printf "%s" "$3" > "$4"; rm -f -- "$2"';

// Keeps the file being replaced next to it until the new one passes its check.
const KEEP_PREVIOUS_SCRIPT = 'rm -f -- "$2"; [ ! -e "$1" ] || cp -a -- "$1" "$2"';
// Runs the check (the arguments after the first two); on failure puts the previous file back (or removes the new one).
const CHECK_OR_ROLL_BACK_SCRIPT =
  'p=$1; q=$2; shift 2; if "$@"; then rm -f -- "$q"; else echo "rampart: the check failed; the previous $p is kept" >&2; if [ -e "$q" ]; then mv -f -- "$q" "$p"; else rm -f -- "$p"; fi; exit 1; fi';
const previousPath = (path: string) => `${path}.rampart-previous`;

function markPending(notify: PendingMark[]): Command[] {
  return notify.map((n) => ({ argv: ["sh", "-c", PENDING_SCRIPT, "rampart-pending", PENDING_DIR, pendingPath(n.unit), n.how] }));
}

export function renderAction(a: Action): RenderedAction {
  const none = { before: [], upload: null, after: [] };
  switch (a.op) {
    case "apt-install":
      return { ...none, before: [{ argv: ["sh", "-c", APT_INSTALL_SCRIPT, "rampart-apt", ...a.packages], env: APT_ENV, timeoutMs: 20 * 60_000 }] };
    case "mkdir":
      return {
        ...none,
        before: [{ argv: ["mkdir", "-p", "--", a.path] }, { argv: ["chown", `${a.owner}:${a.group}`, "--", a.path] }, { argv: ["chmod", chmodMode(a.mode), "--", a.path] }],
      };
    case "chmod":
      return { ...none, before: [{ argv: ["chown", `${a.owner}:${a.group}`, "--", a.path] }, { argv: ["chmod", chmodMode(a.mode), "--", a.path] }] };
    case "write":
      return {
        before: [
          ...(a.backup ? [backupCommand(a.path)] : []),
          ...markPending(a.notify),
          ...(a.check ? [{ argv: ["sh", "-c", KEEP_PREVIOUS_SCRIPT, "rampart-keep", a.path, previousPath(a.path)] }] : []),
        ],
        after: a.check ? [{ argv: ["sh", "-c", CHECK_OR_ROLL_BACK_SCRIPT, "rampart-check", a.path, previousPath(a.path), ...a.check] }] : [],
        upload: { path: a.path, content: a.content, mode: a.mode, owner: a.owner, group: a.group },
      };
    case "remove":
      return { ...none, before: [...(a.backup ? [backupCommand(a.path)] : []), ...markPending(a.notify), { argv: ["rm", "-f", "--", a.path] }] };
    case "unpack":
      return {
        before: [{ argv: ["mkdir", "-p", "--", path.posix.dirname(a.path)] }],
        upload: { path: `${a.path}.tar.gz`, content: a.data, mode: 0o600, owner: "root", group: "root" },
        // Unpacked afresh, owned by root (the app only reads it), then marked with the archive's hash.
        after: [{ argv: ["sh", "-c", UNPACK_SCRIPT, "rampart-unpack", a.path, `${a.path}.tar.gz`, a.sha256, archiveMarker(a.path)] }],
      };
    case "firewall-apply":
      return {
        before: [{ argv: ["mkdir", "-p", "-m", "0700", "--", FIREWALL_DIR] }],
        upload: { path: pendingRuleset(a.hash), content: a.ruleset, mode: 0o600, owner: "root", group: "root" },
        after: [checkRulesetCommand(a.hash), armRollbackCommand(a.hash, a.confirmWindowS), loadRulesetCommand(a.hash)],
        confirm: { command: confirmCommand(a.hash), hash: a.hash, windowS: a.confirmWindowS },
      };
    case "firewall-remove":
      return { ...none, before: [{ argv: ["sh", "-c", REMOVE_SCRIPT, "rampart-firewall-remove", FIREWALL_DIR] }] };
    case "useradd":
      return { ...none, before: [{ argv: ["useradd", "--system", "--home-dir", a.home, "--no-create-home", "--shell", "/usr/sbin/nologin", "--", a.name] }] };
    case "mysql":
      return renderMysql(a);
    case "systemctl": {
      const cmds: Command[] = [];
      if (a.daemonReload) cmds.push({ argv: ["systemctl", "daemon-reload"] });
      if (a.check) cmds.push({ argv: a.check });
      if (a.verb === "enable") cmds.push({ argv: ["systemctl", "enable", "--", a.unit] });
      else if (a.verb === "disable-now") cmds.push({ argv: ["systemctl", "disable", "--now", "--", a.unit] });
      else cmds.push({ argv: ["systemctl", a.verb, "--", a.unit] });
      if (a.verb === "start" && a.thenReload) cmds.push({ argv: ["systemctl", "reload", "--", a.unit] });
      if (a.clears) cmds.push({ argv: ["rm", "-f", "--", pendingPath(a.unit)] });
      return { ...none, before: cmds };
    }
  }
}
