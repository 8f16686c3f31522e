// Observation: one command per host reads the state of every resource the host
// should have. The script is a constant; every path, package and unit name
// arrives as a positional argument. The parser is pure, so it has golden tests.
import type { Command } from "./command";
import { type Observed, type Resource, archiveMarker, PENDING_DIR, resourceId, sha256 } from "./resources";

/** Files larger than this are compared by hash only (the plan then cannot show their diff). */
export const OBSERVE_CONTENT_LIMIT = 256 * 1024;

const OBSERVE_SCRIPT = `pending=$1; shift; n=0
while [ $# -gt 0 ]; do
  k=$1; shift
  case $k in
  pkg)
    s=$(dpkg-query -W -f='\${db:Status-Status} \${Version}' "$1" 2>/dev/null) || s=absent
    printf '@@ %d pkg %s\\n' "$n" "$s"; shift;;
  path)
    p=$1
    if [ -L "$p" ]; then t=other; elif [ -f "$p" ]; then t=file; elif [ -d "$p" ]; then t=directory; elif [ -e "$p" ]; then t=other; else t=absent; fi
    if [ "$t" = absent ]; then printf '@@ %d path absent\\n' "$n"
    else
      a=$(stat -c '%a %U %G' -- "$p"); h=-
      if [ "$t" = file ] && [ "$2" != - ]; then h=$(sha256sum < "$p" | cut -d' ' -f1); fi
      printf '@@ %d path %s %s %s\\n' "$n" "$t" "$a" "$h"
      if [ "$t" = file ] && [ "$3" = 1 ] && [ "$h" != "$2" ] && [ "$(stat -c %s -- "$p")" -le ${OBSERVE_CONTENT_LIMIT} ]; then base64 -w0 < "$p"; echo; fi
    fi
    shift 3;;
  svc)
    printf '@@ %d svc\\n' "$n"
    systemctl show -p LoadState -p UnitFileState -p ActiveState "$1" 2>/dev/null
    if [ -f "$pending/$1" ]; then printf 'Pending=%s\\n' "$(cat "$pending/$1")"; fi
    shift;;
  user)
    printf '@@ %d user\\n' "$n"; getent passwd "$1" || true; shift;;
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
  }
}

/** One command that observes every resource in `resources`, in order. */
export function observeCommand(resources: readonly Resource[]): Command {
  return { argv: ["sh", "-c", OBSERVE_SCRIPT, "rampart-observe", PENDING_DIR, ...resources.flatMap(probe)], timeoutMs: 60_000 };
}

export class ObserveParseError extends Error {
  override name = "ObserveParseError";
}

/** Parses the observe command's output into resource id → observed state. */
export function parseObservation(resources: readonly Resource[], stdout: string): Map<string, Observed> {
  const records: Array<{ head: string[]; body: string[] }> = [];
  for (const line of stdout.split("\n")) {
    if (line.startsWith("@@ ")) records.push({ head: line.slice(3).split(" "), body: [] });
    else if (records.length > 0 && line !== "") records[records.length - 1]!.body.push(line);
  }
  if (records.length !== resources.length) throw new ObserveParseError(`expected ${resources.length} observations, got ${records.length}`);
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
    default:
      throw new ObserveParseError(`unknown observation "${kind}" for ${resourceId(r)}`);
  }
}
