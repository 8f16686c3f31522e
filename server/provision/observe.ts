// Observation: one command per host reads the state of every resource the host
// should have. The script is a constant; every path, package and unit name
// arrives as a positional argument. The parser is pure, so it has golden tests.
import type { Command } from "./command";
import { type Observed, type Resource, archiveMarker, PENDING_DIR, resourceId, sha256 } from "./resources";
import { type Listener, parseListeners } from "./listeners";
import { FLAVOURS, parseMysqlProbe, REPLICATION_MARKER } from "./mysql/state";
import { FIREWALL_DIR, FIREWALL_PERSISTED, FIREWALL_UNIT } from "./firewall/render";

/** Files larger than this are compared by hash only (the plan then cannot show their diff). */
export const OBSERVE_CONTENT_LIMIT = 256 * 1024;

// Each external command costs a few milliseconds on a small host, and every host of a
// no-op apply runs this script: text is cut with the shell's own expansions and read,
// not with cut, sed or head.
const OBSERVE_SCRIPT = `pending=$1; shift; n=0; clock=; pkgs=; stats=; hashes=
start20() { shift 19; [ -n "$1" ] && printf 'start %s\\n' "$1"; }
while [ $# -gt 0 ]; do
  k=$1; shift
  case $k in
  pre)
    # Read ahead, one process for many: the packages' states, the paths' modes and
    # sizes, the files' hashes (the list is one argument, a name per line). The probes
    # below look their answers up here, with the shell's own read, and ask one by one
    # only for what is missing (a name with a line break, an odd name in the output).
    o=$IFS; IFS='
'; set -f
    case $1 in
    pkg) pkgs=$(dpkg-query -W -f='\${Package} \${db:Status-Status} \${Version}\\n' -- $2 2>/dev/null);;
    stat) stats=$(stat -c '%a %U %G %s %n' -- $2 2>/dev/null);;
    hash) hashes=$(sha256sum -- $2 2>/dev/null);;
    esac
    IFS=$o; set +f; shift 2; continue;;
  pkg)
    s=
    while read -r x y; do [ "$x" = "$1" ] && { s=$y; break; }; done <<EOF_PKGS
$pkgs
EOF_PKGS
    [ -n "$s" ] || s=$(dpkg-query -W -f='\${db:Status-Status} \${Version}' "$1" 2>/dev/null) || s=absent
    printf '@@ %d pkg %s\\n' "$n" "$s"; shift;;
  path)
    p=$1
    if [ -L "$p" ]; then t=other; elif [ -f "$p" ]; then t=file; elif [ -d "$p" ]; then t=directory; elif [ -e "$p" ]; then t=other; else t=absent; fi
    if [ "$t" = absent ]; then printf '@@ %d path absent\\n' "$n"
    else
      a=; sz=; h=-
      while read -r x1 x2 x3 x4 x5; do [ "$x5" = "$p" ] && { a="$x1 $x2 $x3"; sz=$x4; break; }; done <<EOF_STATS
$stats
EOF_STATS
      [ -n "$a" ] || { a=$(stat -c '%a %U %G %s' -- "$p"); sz=\${a##* }; a=\${a% *}; }
      if [ "$t" = file ] && [ "$2" != - ]; then
        h=
        while read -r x1 x2; do [ "$x2" = "$p" ] && { h=$x1; break; }; done <<EOF_HASHES
$hashes
EOF_HASHES
        [ -n "$h" ] || { h=$(sha256sum < "$p"); h=\${h%% *}; }
      fi
      printf '@@ %d path %s %s %s\\n' "$n" "$t" "$a" "$h"
      if [ "$t" = file ] && [ "$3" = 1 ] && [ "$h" != "$2" ] && [ "$sz" -le ${OBSERVE_CONTENT_LIMIT} ]; then base64 -w0 < "$p"; echo; fi
    fi
    shift 3;;
  svc)
    printf '@@ %d svc\\n' "$n"
    systemctl show -p LoadState -p UnitFileState -p ActiveState "$1" 2>/dev/null
    if [ -f "$pending/$1" ]; then printf 'Pending=%s\\n' "$(cat "$pending/$1")"; fi
    shift;;
  user)
    printf '@@ %d user\\n' "$n"; getent passwd "$1" || true; shift;;
  listen)
    printf '@@ %d listen\\n' "$n"
    l=$(ss -Htlnp 2>/dev/null) || l=
    printf '%s\\n' "$l"
    for p in $(printf '%s\\n' "$l" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u); do
      u=
      while IFS= read -r c; do
        case $c in 0::*|*:name=systemd:*) u=\${c##*/}; break;; esac
      done 2>/dev/null < "/proc/$p/cgroup"
      printf 'unit %s %s\\n' "$p" "\${u:--}"
    done;;
  fresh)
    u=$1; c=$2; shift 2
    printf '@@ %d fresh\\n' "$n"
    # A service's cgroup is system.slice/<unit> unless it sets another slice: ask systemd only then.
    case $u in *.*) su=$u;; *) su=$u.service;; esac
    if [ -f "/sys/fs/cgroup/system.slice/$su/cgroup.procs" ]; then cg=/system.slice/$su; else cg=$(systemctl show -p ControlGroup --value "$u" 2>/dev/null) || cg=; fi
    for d in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
      if [ -n "$cg" ] && [ -f "$d$cg/cgroup.procs" ]; then
        while read -r p; do
          t=; read -r t 2>/dev/null < "/proc/$p/stat"
          [ -n "$t" ] && start20 \${t##*) }
        done 2>/dev/null < "$d$cg/cgroup.procs"
        break
      fi
    done
    if [ -z "$clock" ]; then read -r up _ < /proc/uptime; clock="$(date +%s.%N) $up $(getconf CLK_TCK)"; fi
    printf 'clock %s\\n' "$clock"
    while [ "$c" -gt 0 ]; do
      [ -e "$1" ] && printf 'mtime %s %s\\n' "$(stat -c %.3Y -- "$1")" "$1"
      shift; c=$((c-1))
    done;;
  fw)
    d=$1; persisted=$2; unit=$3; want=$4; shift 4
    printf '@@ %d fw\n' "$n"
    sc=\${RAMPART_SSH_CONNECTION:-\$SSH_CONNECTION}; printf 'client %s\n' "\${sc%% *}"
    if command -v nft >/dev/null 2>&1; then
      echo nft
      # Few processes: this runs in every plan, apply and drift check.
      l=$(nft list table inet rampart 2>/dev/null) || l=
      r=; [ -f "$d/live.nft" ] && r=$(cat "$d/live.nft")
      if [ -n "$l" ]; then h=$(printf '%s\n' "$l" | sha256sum); printf 'live %s\n' "\${h%% *}"; fi
      if [ -n "$r" ]; then
        if [ "$r" != "$l" ]; then h=$(printf '%s\n' "$r" | sha256sum); fi
        printf 'recorded %s\n' "\${h%% *}"
      fi
      if [ -n "$l" ] && [ -n "$r" ] && [ "$l" != "$r" ]; then printf 'livetext %s\n' "$(printf '%s\n' "$l" | base64 -w0)"; printf 'recordedtext %s\n' "$(printf '%s\n' "$r" | base64 -w0)"; fi
    fi
    if [ -f "$d/applied" ]; then read -r x < "$d/applied"; printf 'applied %s\n' "$x"; fi
    if [ -f "$persisted" ]; then h=$(sha256sum < "$persisted"); printf 'persisted %s\n' "\${h%% *}"; [ "\${h%% *}" = "$want" ] || printf 'persistedtext %s\n' "$(base64 -w0 < "$persisted")"; fi
    # The unit of Rampart's own is wanted by sysinit.target when enabled; ask systemd only when it is not.
    if [ -L "/etc/systemd/system/sysinit.target.wants/$unit" ] && [ -f "/etc/systemd/system/$unit" ]; then echo 'enabled enabled'; else printf 'enabled %s\n' "$(systemctl is-enabled "$unit" 2>/dev/null)"; fi
    if [ -f "$d/rolled-back" ]; then read -r x < "$d/rolled-back"; printf 'rolledback %s\n' "$x"; fi
    # A pending rollback: systemd-run's transient timer, on disk while it is loaded.
    for x in /run/systemd/transient/rampart-firewall-rollback-*.timer; do [ -e "$x" ] && printf 'timer %s\n' "\${x##*/}"; done
    ;;
  mysql)
    # The database server's own state, read as root over its socket: tagged rows, then
    # its replication status (a header row and a value row), each line tagged.
    c=$1; m=$2; q=$3; sq=$4; shift 4
    printf '@@ %d mysql\n' "$n"
    if [ -f "$m" ]; then read -r x < "$m"; printf 'marker\t%s\n' "$x"; fi
    if ! command -v "$c" >/dev/null 2>&1; then echo absent
    elif o=$("$c" -N -B --connect-timeout=5 -e "$q" 2>&1); then
      printf '%s\n' "$o"
      "$c" -B --connect-timeout=5 -e "$sq" 2>/dev/null | while IFS= read -r l; do printf 'slave\t%s\n' "$l"; done
    else o=$(printf '%s' "$o" | tr '\n\t' '  '); printf 'down\t%.300s\n' "$o"; fi;;
  *) echo "rampart-observe: unknown probe $k" >&2; exit 2;;
  esac
  n=$((n+1))
done`;

/** The probe arguments for one resource. */
function probe(r: Resource): string[] {
  switch (r.kind) {
    case "package":
      return ["pkg", r.name];
    case "directory":
      return ["path", r.path, "-", "0"];
    case "file":
      // Ask for the content back only when it differs, and never for secret files. A
      // secret file's expected hash is not put on the command line (ps, sudo's log):
      // "+" asks for the hash alone, which is compared here.
      if (r.content === null) return ["path", r.path, "-", "0"];
      return r.secret ? ["path", r.path, "+", "0"] : ["path", r.path, sha256(r.content), "1"];
    case "service":
      return ["svc", r.name];
    case "user":
      return ["user", r.name];
    case "archive":
      // Its marker file holds the archive's hash: compared, never read back.
      return ["path", archiveMarker(r.path), sha256(r.sha256), "0"];
    case "firewall":
      return ["fw", FIREWALL_DIR, FIREWALL_PERSISTED, FIREWALL_UNIT, r.ruleset === null ? "-" : sha256(r.ruleset)];
    case "mysql": {
      const f = FLAVOURS[r.flavour];
      return ["mysql", f.client, REPLICATION_MARKER, f.probeSql, f.showReplicaStatus];
    }
  }
}

/** A service whose processes must have started after the files it reads last changed (else it runs an older configuration). */
export interface FreshnessProbe {
  unit: string;
  files: string[];
}

/** What else to read besides the resources: who listens where, and how fresh each service's configuration is. */
export interface ObserveExtras {
  listeners?: boolean;
  fresh?: FreshnessProbe[];
}

function extraProbes(extras: ObserveExtras): string[] {
  return [...(extras.listeners ? ["listen"] : []), ...(extras.fresh ?? []).flatMap((f) => ["fresh", f.unit, String(f.files.length), ...f.files])];
}

/** One command that observes every resource in `resources`, in order (then the extras). */
export function observeCommand(resources: readonly Resource[], extras: ObserveExtras = {}): Command {
  const probes = resources.map(probe);
  const paths = probes.filter((p) => p[0] === "path").map((p) => p[1]!);
  const lists: Array<[string, string[]]> = [
    ["pkg", probes.filter((p) => p[0] === "pkg").map((p) => p[1]!)],
    ["stat", paths],
    ["hash", probes.filter((p) => p[0] === "path" && p[2] !== "-").map((p) => p[1]!)],
  ];
  const pre = lists.filter(([, names]) => names.length > 0).flatMap(([what, names]) => ["pre", what, names.join("\n")]);
  return {
    argv: ["sh", "-c", OBSERVE_SCRIPT, "rampart-observe", PENDING_DIR, ...pre, ...probes.flat(), ...extraProbes(extras)],
    timeoutMs: 60_000,
    // The firewall probe reports who Rampart connects from (SSH stays open to it).
    forwardSshConnection: true,
  };
}

/** When a service's processes started, and when the files it reads last changed (epoch seconds). */
export interface Freshness {
  /** The youngest process of the unit; null when it has none (stopped). */
  youngestStart: number | null;
  files: Array<{ path: string; mtime: number }>;
}

export interface HostObserved {
  resources: Map<string, Observed>;
  listeners: Listener[] | null;
  fresh: Map<string, Freshness>;
}

/** Parses the output of observeCommand(resources, extras). */
export function parseHostObservation(resources: readonly Resource[], extras: ObserveExtras, stdout: string): HostObserved {
  const records = splitRecords(stdout);
  const want = resources.length + (extras.listeners ? 1 : 0) + (extras.fresh?.length ?? 0);
  if (records.length !== want) throw new ObserveParseError(`expected ${want} observations, got ${records.length}`);
  const observed = parseRecords(resources, records.slice(0, resources.length));
  let i = resources.length;
  let listeners: Listener[] | null = null;
  if (extras.listeners) {
    const rec = records[i++]!;
    if (rec.head[1] !== "listen") throw new ObserveParseError(`observation ${i - 1} should list listening sockets`);
    listeners = parseListeners(rec.body);
  }
  const fresh = new Map<string, Freshness>();
  for (const f of extras.fresh ?? []) {
    const rec = records[i++]!;
    if (rec.head[1] !== "fresh") throw new ObserveParseError(`observation ${i - 1} should be the freshness of ${f.unit}`);
    fresh.set(f.unit, parseFreshness(rec.body));
  }
  return { resources: observed, listeners, fresh };
}

/** Process start times are clock ticks since boot: turned into epoch seconds with one reading of the clock and the uptime. */
export function parseFreshness(body: readonly string[]): Freshness {
  const starts: number[] = [];
  let clock: { now: number; uptime: number; hz: number } | null = null;
  const files: Freshness["files"] = [];
  for (const l of body) {
    const [k, a, b, c] = l.split(" ");
    if (k === "start" && a) starts.push(Number(a));
    else if (k === "clock") clock = { now: Number(a), uptime: Number(b), hz: Number(c) || 100 };
    else if (k === "mtime" && a) files.push({ mtime: Number(a), path: l.slice(k.length + a.length + 2) });
  }
  const youngest = starts.length > 0 && clock ? clock.now - (clock.uptime - Math.max(...starts) / clock.hz) : null;
  return { youngestStart: youngest, files };
}

export class ObserveParseError extends Error {
  override name = "ObserveParseError";
}

type ObserveRecord = { head: string[]; body: string[] };

function splitRecords(stdout: string): ObserveRecord[] {
  const records: ObserveRecord[] = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith("@@ ")) records.push({ head: line.slice(3).split(" "), body: [] });
    else if (records.length > 0 && line !== "") records[records.length - 1]!.body.push(line);
  }
  return records;
}

/** Parses the observe command's output into resource id → observed state. */
export function parseObservation(resources: readonly Resource[], stdout: string): Map<string, Observed> {
  const records = splitRecords(stdout);
  if (records.length !== resources.length) throw new ObserveParseError(`expected ${resources.length} observations, got ${records.length}`);
  return parseRecords(resources, records);
}

function parseRecords(resources: readonly Resource[], records: ObserveRecord[]): Map<string, Observed> {
  const out = new Map<string, Observed>();
  records.forEach((rec, i) => {
    const r = resources[i]!;
    const [n, kind, ...rest] = rec.head;
    if (Number(n) !== i) throw new ObserveParseError(`observation ${i} is numbered ${n}`);
    out.set(resourceId(r), parseOne(kind ?? "", rest, rec.body, r));
  });
  return out;
}

function parseOne(kind: string, rest: string[], body: string[], r: Resource): Observed {
  switch (kind) {
    case "pkg": {
      const [status, version] = rest;
      return { kind: "package", status: status ?? "absent", version: version || null };
    }
    case "path": {
      const [type, mode, owner, group, hash] = rest;
      if (type === "absent") return { kind: "path", type: "absent", mode: null, owner: null, group: null, sha256: null, content: null };
      const t = type === "file" || type === "directory" ? type : "other";
      const content = body[0] !== undefined ? Buffer.from(body[0], "base64").toString("utf8") : null;
      return { kind: "path", type: t, mode: mode ? parseInt(mode, 8) : null, owner: owner ?? null, group: group ?? null, sha256: hash && hash !== "-" ? hash : null, content };
    }
    case "svc": {
      const props = Object.fromEntries(body.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
      const pending = props.Pending === "restart" ? "restart" : props.Pending === "reload" ? "reload" : "";
      return { kind: "service", load: props.LoadState ?? "not-found", unitFile: props.UnitFileState ?? "", active: props.ActiveState ?? "inactive", pending };
    }
    case "user": {
      const fields = body[0]?.split(":");
      return { kind: "user", exists: !!fields, home: fields?.[5] ?? null };
    }
    case "fw":
      return parseFirewall(body);
    case "mysql":
      return parseMysqlProbe(body);
    default:
      throw new ObserveParseError(`unknown observation "${kind}" for ${resourceId(r)}`);
  }
}

const fromBase64 = (v: string | undefined) => (v === undefined ? null : Buffer.from(v, "base64").toString("utf8"));

/** The firewall probe's lines: "key value" each (see the fw probe in the observe script). */
export function parseFirewall(body: readonly string[]): Observed {
  const one = new Map<string, string>();
  const timers: string[] = [];
  let nft = false;
  for (const l of body) {
    const i = l.indexOf(" ");
    const k = i < 0 ? l : l.slice(0, i);
    const v = i < 0 ? "" : l.slice(i + 1).trim();
    if (k === "nft") nft = true;
    else if (k === "timer") {
      const m = /rampart-firewall-rollback-([0-9a-f]+)\.timer/.exec(v);
      if (m && !timers.includes(m[1]!)) timers.push(m[1]!);
    } else one.set(k, v);
  }
  const [rbHash, rbAt] = (one.get("rolledback") ?? "").split(" ");
  const client = (one.get("client") ?? "").split(" ")[0]!.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1");
  return {
    kind: "firewall",
    nft,
    live: one.get("live") || null,
    recorded: one.get("recorded") || null,
    liveText: fromBase64(one.get("livetext")),
    recordedText: fromBase64(one.get("recordedtext")),
    applied: one.get("applied") || null,
    persisted: one.get("persisted") || null,
    persistedText: fromBase64(one.get("persistedtext")),
    enabled: one.get("enabled") ?? "",
    rolledBack: rbHash && /^[0-9a-f]+$/.test(rbHash) ? { hash: rbHash, at: new Date(Number(rbAt) * 1000 || 0) } : null,
    pendingRollbacks: timers,
    client: client || null,
  };
}
