// The audit log Rampart keeps on each host: one line per run that touched it, so
// someone on the machine can see what Rampart did, and when, without Rampart.
import type { Command } from "./command";

export const HOST_AUDIT_LOG = "/var/lib/rampart/audit.log";

export function hostAuditCommand(line: string): Command {
  // A constant script; the line arrives as a positional argument.
  return { argv: ["sh", "-c", 'mkdir -p /var/lib/rampart && printf "%s\\n" "$1" >> "$2"', "rampart", line.replace(/[\r\n]+/g, " "), HOST_AUDIT_LOG] };
}
