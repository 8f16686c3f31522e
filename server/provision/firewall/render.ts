// The nftables rule set of one server, in a table of Rampart's own (`table inet
// rampart`; other tables are never touched), and the commands that apply it with
// a commit-confirm: the host arms its own rollback before the new rules load, and
// only a NEW SSH connection that gets in cancels it and makes the rules permanent.
import type { Command } from "../command";
import { ipFamily } from "../../schemas/firewall";
import type { EffectiveRule } from "./types";

export const FIREWALL_TABLE = "rampart";
/** The rule set loaded at boot by Rampart's unit (Debian's nftables.service starts with `flush ruleset`). */
export const FIREWALL_PERSISTED = "/etc/rampart/firewall.nft";
export const FIREWALL_UNIT = "rampart-firewall.service";
export const FIREWALL_UNIT_FILE = `/etc/systemd/system/${FIREWALL_UNIT}`;
/** Working files: the rule set on its way, the rollback, what was confirmed, and a rollback's trace. */
export const FIREWALL_DIR = "/var/lib/rampart/firewall";
export const pendingRuleset = (hash: string) => `${FIREWALL_DIR}/pending-${hash.slice(0, 16)}.nft`;
export const rollbackUnit = (hash: string) => `rampart-firewall-rollback-${hash.slice(0, 16)}`;
export const ROLLBACK_UNIT_PATTERN = /rampart-firewall-rollback-([0-9a-f]{16})\.timer/;

const quote = (s: string) => `"${s.replace(/["\\\n\r]/g, " ").slice(0, 120)}"`;

function match(r: EffectiveRule): string[] {
  const port = r.ports[0] === r.ports[1] ? `${r.ports[0]}` : `${r.ports[0]}-${r.ports[1]}`;
  const dir = r.direction === "in" ? "saddr" : "daddr";
  const proto = `${r.protocol} dport ${port}`;
  if (r.peers === "any") return [proto];
  const v4 = r.peers.filter((p) => ipFamily(p.split("/")[0]!) === 4);
  const v6 = r.peers.filter((p) => ipFamily(p.split("/")[0]!) === 6);
  const set = (xs: string[]) => (xs.length === 1 ? xs[0]! : `{ ${xs.join(", ")} }`);
  return [...(v4.length ? [`ip ${dir} ${set(v4)} ${proto}`] : []), ...(v6.length ? [`ip6 ${dir} ${set(v6)} ${proto}`] : [])];
}

/** One rule as nftables lines (none when its peers resolved to nothing: it matches nothing). */
export function ruleLines(r: EffectiveRule): string[] {
  const comment = quote(`${r.origin}${r.comment ? `: ${r.comment}` : ""}`);
  return match(r).map((m) => `${m} ${r.action} comment ${comment}`);
}

/**
 * The whole file `nft -f` loads: it creates the table if missing and deletes it, then
 * declares it afresh, all in one transaction (nothing applies if any line is wrong).
 */
export function renderRuleset(hostName: string, topologyName: string, rules: readonly EffectiveRule[]): string {
  const ind = (lines: string[]) => lines.map((l) => `\t\t${l}`);
  const input = rules.filter((r) => r.direction === "in").flatMap(ruleLines);
  const output = rules.filter((r) => r.direction === "out").flatMap(ruleLines);
  return [
    `# Managed by Rampart: the firewall of ${hostName.replace(/\n/g, " ")} (topology ${topologyName.replace(/\n/g, " ")}).`,
    "# Rules added here by hand are reported as drift and removed by the next apply.",
    `table inet ${FIREWALL_TABLE} {}`,
    `delete table inet ${FIREWALL_TABLE}`,
    `table inet ${FIREWALL_TABLE} {`,
    "\tchain input {",
    "\t\ttype filter hook input priority filter; policy drop;",
    "\t\tct state established,related accept",
    "\t\tct state invalid drop",
    '\t\tiif "lo" accept',
    "\t\ticmp type { echo-request, destination-unreachable, time-exceeded, parameter-problem } accept",
    "\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
    '\t\tudp sport 67 udp dport 68 accept comment "essential: DHCP replies"',
    '\t\tudp sport 547 udp dport 546 accept comment "essential: DHCPv6 replies"',
    ...ind(input),
    "\t}",
    "\tchain output {",
    "\t\ttype filter hook output priority filter; policy accept;",
    ...ind(output),
    "\t}",
    "}",
    "",
  ].join("\n");
}

export const FIREWALL_UNIT_CONTENT = `# Managed by Rampart: loads Rampart's firewall (table inet ${FIREWALL_TABLE}) at boot.
[Unit]
Description=Rampart firewall (table inet ${FIREWALL_TABLE})
DefaultDependencies=no
After=nftables.service
Before=network-pre.target
Wants=network-pre.target
ConditionPathExists=${FIREWALL_PERSISTED}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/sbin/nft -f ${FIREWALL_PERSISTED}

[Install]
WantedBy=sysinit.target
`;

// ---- The host side of a change: constant scripts, every value an argument.

/**
 * Saves the rules in force as the rollback (or, with none, a file that removes the
 * table), clears an earlier rollback's trace, and arms a timer that loads the rollback
 * unless it is stopped in time. The rollback leaves its trace: "<hash> <epoch>".
 */
const ARM_SCRIPT = `set -e
d=$1; h=$2; w=$3; u=$4; rb="$d/rollback-$h.nft"
mkdir -p -m 0700 "$d"
{ echo 'table inet ${FIREWALL_TABLE} {}'; echo 'delete table inet ${FIREWALL_TABLE}'
  if nft list tables | grep -qx 'table inet ${FIREWALL_TABLE}'; then nft list table inet ${FIREWALL_TABLE}; fi; } > "$rb.tmp"
mv -f "$rb.tmp" "$rb"
rm -f "$d/rolled-back"
systemctl stop "$u.timer" 2>/dev/null || true
systemctl reset-failed "$u.service" "$u.timer" 2>/dev/null || true
# (A script file: systemd would expand "$1" in the unit's command line.)
printf '%s\\n' "nft -f $rb || nft delete table inet ${FIREWALL_TABLE}" "echo $h \\$(date +%s) > $d/rolled-back" > "$rb.sh"
systemd-run --quiet --unit "$u" --on-active="$w" --timer-property=AccuracySec=100ms /bin/sh "$rb.sh"
echo "rampart: the host restores the previous rules in $w s unless a new connection confirms these"`;

/** Loads the new rule set (one transaction); if nftables refuses it, disarms the rollback: nothing changed. */
const LOAD_SCRIPT = `if nft -f "$1"; then echo "rampart: rules loaded; confirming over a new connection"; else systemctl stop "$2.timer" 2>/dev/null; rm -f -- "$1"; echo "rampart: nftables refused the rule set; nothing changed" >&2; exit 1; fi`;

/**
 * Run over a NEW connection: stops the rollback (if it has not fired), then makes the
 * rules permanent: the boot file, Rampart's unit, and the listing that drift is judged
 * against. Exit 3: the rollback fired first.
 */
const CONFIRM_SCRIPT = `set -e
d=$1; h=$2; u=$3; pending=$4; persisted=$5; unitfile=$6; unit=$7; unitcontent=$8
systemctl stop "$u.timer" 2>/dev/null || true
if [ -e "$d/rolled-back" ]; then cat "$d/rolled-back"; exit 3; fi
mkdir -p "$(dirname "$persisted")"
cp -- "$pending" "$persisted.tmp" && chmod 0600 "$persisted.tmp" && mv -f -- "$persisted.tmp" "$persisted"
if [ "$(cat "$unitfile" 2>/dev/null)" != "$unitcontent" ]; then printf '%s\\n' "$unitcontent" > "$unitfile.tmp" && mv -f -- "$unitfile.tmp" "$unitfile"; systemctl daemon-reload; fi
systemctl enable --quiet "$unit"
nft list table inet ${FIREWALL_TABLE} > "$d/live.nft"
printf '%s\\n' "$h" > "$d/applied"
rm -f -- "$pending" "$d/rollback-$h.nft" "$d/rollback-$h.nft.sh"
echo "rampart: confirmed; the rules are permanent"`;

/** Checks a rule set with nftables without loading it. */
export const checkRulesetCommand = (hash: string): Command => ({ argv: ["nft", "-c", "-f", pendingRuleset(hash)] });

export const armRollbackCommand = (hash: string, windowS: number): Command => ({
  argv: ["sh", "-c", ARM_SCRIPT, "rampart-firewall-arm", FIREWALL_DIR, hash, `${windowS}s`, rollbackUnit(hash)],
});

export const loadRulesetCommand = (hash: string): Command => ({ argv: ["sh", "-c", LOAD_SCRIPT, "rampart-firewall-load", pendingRuleset(hash), rollbackUnit(hash)] });

export const confirmCommand = (hash: string): Command => ({
  argv: [
    "sh",
    "-c",
    CONFIRM_SCRIPT,
    "rampart-firewall-confirm",
    FIREWALL_DIR,
    hash,
    rollbackUnit(hash),
    pendingRuleset(hash),
    FIREWALL_PERSISTED,
    FIREWALL_UNIT_FILE,
    FIREWALL_UNIT,
    FIREWALL_UNIT_CONTENT.trimEnd(),
  ],
  timeoutMs: 30_000,
});

/** Read over a NEW connection once the confirm window has passed: the rollback's trace. */
export const rollbackTraceCommand = (): Command => ({ argv: ["sh", "-c", 'cat -- "$1" 2>/dev/null || true', "rampart-firewall-trace", `${FIREWALL_DIR}/rolled-back`] });

/** Drops the table (a topology whose firewall is turned off): nothing of Rampart's is left in force or at boot. */
export const REMOVE_SCRIPT = `nft list tables | grep -qx 'table inet ${FIREWALL_TABLE}' && nft delete table inet ${FIREWALL_TABLE}; systemctl disable --quiet ${FIREWALL_UNIT} 2>/dev/null; rm -f -- ${FIREWALL_PERSISTED} "$1/applied" "$1/live.nft"; true`;

// ---- Reachability probes from inside a host (its own network namespace)

/**
 * TCP connects from the host to each "address port" pair, all at once, each within
 * `timeoutS`: "open" when it connects, "refused" when the target resets, "filtered"
 * when nothing answers in time (or the route is refused by a firewall on the way).
 */
// One bash subshell per pair (a fork, no exec: this runs from every host on every
// apply): bash's /dev/tcp connects; an open port prints a "reach" line, a refused one
// makes bash name the path in its error ("/dev/tcp/A/P: Connection refused"). What is
// still connecting when the time is up is killed: no answer, filtered. "done" says
// the script got to the end, so a pair without a line was filtered, not unprobed.
// LC_ALL=C: the error text is matched, so it must not be translated.
const REACH_SCRIPT = `export LC_ALL=C; t=$1; shift; pids=()
while [ $# -gt 1 ]; do
  ( : 3<>"/dev/tcp/$1/$2" && printf 'reach %s %s open\\n' "$1" "$2" ) 2>&1 &
  pids+=($!); shift 2
done
( sleep "$t"; kill "\${pids[@]}" ) >/dev/null 2>&1 &
k=$!
wait "\${pids[@]}" 2>/dev/null
kill "$k" 2>/dev/null
echo done`;

export const reachProbeCommand = (pairs: ReadonlyArray<{ address: string; port: number }>, timeoutS: number): Command => ({
  argv: ["bash", "-c", REACH_SCRIPT, "rampart-reach", String(timeoutS), ...pairs.flatMap((p) => [p.address, String(p.port)])],
  timeoutMs: Math.ceil(timeoutS * 1000) + 15_000,
});

/**
 * "address port" → open | refused | filtered, from the probe script's output. A pair
 * with no line is filtered if the script finished (`complete`), else not known.
 */
export function parseReachProbe(stdout: string): { found: Map<string, "open" | "refused">; complete: boolean } {
  const found = new Map<string, "open" | "refused">();
  let complete = false;
  for (const l of stdout.split("\n")) {
    const line = l.trim();
    if (line === "done") complete = true;
    const open = /^reach (\S+) (\d+) open$/.exec(line);
    if (open) found.set(`${open[1]} ${open[2]}`, "open");
    const refused = /\/dev\/tcp\/(\S+)\/(\d+): Connection refused$/.exec(line);
    if (refused && !found.has(`${refused[1]} ${refused[2]}`)) found.set(`${refused[1]} ${refused[2]}`, "refused");
  }
  return { found, complete };
}
