// Reading HAProxy's view of its backends through its runtime API ("show stat",
// CSV). The command is constant; the parser is pure.
import type { Command } from "./command";
import type { LbHealth } from "../schemas/topology";
import { HAPROXY_SOCKET } from "./render/haproxy";

export function showStatCommand(): Command {
  return { argv: ["sh", "-c", 'echo "show stat" | socat -t 2 stdio "UNIX-CONNECT:$1"', "rampart-stat", HAPROXY_SOCKET], timeoutMs: 10_000 };
}

type Backends = LbHealth["loadBalancers"][number]["backends"];

/** The servers of the "web" backend, with HAProxy's status and last check. */
export function parseShowStat(csv: string, backend = "web"): Backends {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const header = lines.find((l) => l.startsWith("# "));
  if (!header) throw new Error("HAProxy's answer has no header line");
  const cols = header.slice(2).split(",");
  const col = (name: string) => cols.indexOf(name);
  const [px, sv, status, check, desc, lastchg, weight] = ["pxname", "svname", "status", "check_status", "check_desc", "lastchg", "weight"].map(col);
  return lines
    .filter((l) => !l.startsWith("#"))
    .map((l) => l.split(","))
    .filter((f) => f[px!] === backend && f[sv!] !== "BACKEND" && f[sv!] !== "FRONTEND")
    .map((f) => ({
      server: f[sv!]!,
      // A drained server (weight 0, as Rampart configures it) still reads "UP": say what it means.
      status: (f[status!] ?? "").startsWith("UP") && weight! >= 0 && f[weight!] === "0" ? "DRAIN" : (f[status!] ?? ""),
      check: [f[check!], desc! >= 0 ? f[desc!] : ""].filter(Boolean).join(": "),
      lastChangeS: lastchg! >= 0 && f[lastchg!] !== "" ? Number(f[lastchg!]) : null,
    }));
}
