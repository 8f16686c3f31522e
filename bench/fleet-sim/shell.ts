// The exec string Rampart sends, read back into argument vectors: the inverse of
// server/provision/command.ts (renderCommand, renderCancellable). Only what that
// file produces is accepted (bare safe words and single-quoted strings with the
// '\'' escape); anything else is an error, so a change there shows up here.
import { PGID_MARKER } from "@/server/provision/command";

/** Splits a command line as a POSIX shell would for the quoting command.ts uses. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < line.length;) {
    const c = line[i]!;
    if (c === " ") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated single quote");
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === "\\") {
      cur += line[i + 1] ?? "";
      inWord = true;
      i += 2;
    } else if (c === '"' || c === "$" || c === "`" || c === ";" || c === "|" || c === "&") {
      throw new Error(`unquoted ${c}: command.ts never produces it`);
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

const PGID_SCRIPT = `echo "${PGID_MARKER}$$" >&2; exec "$@"`;

export interface Parsed {
  /** The command as the engine built it (after sudo, the process-group wrapper and env). */
  argv: string[];
  env: Record<string, string>;
  /** Started through renderCancellable: its first stderr line must be the process group. */
  cancellable: boolean;
}

/** An exec request's command line → the engine's argv. */
export function parseExec(line: string): Parsed {
  let w = splitWords(line);
  if (w[0] !== "exec") return { argv: w, env: {}, cancellable: false };
  w = w.slice(1);
  if (w[0] === "sudo" && w[1] === "-n" && w[2] === "--") w = w.slice(3);
  let cancellable = false;
  if (w[0] === "setsid" && w[1] === "-w" && w[2] === "sh" && w[3] === "-c" && w[4] === PGID_SCRIPT && w[5] === "rampart") {
    cancellable = true;
    w = w.slice(6);
  }
  const env: Record<string, string> = {};
  if (w[0] === "env") {
    w = w.slice(1);
    while (w.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(w[0]!)) {
      const kv = w.shift()!;
      env[kv.slice(0, kv.indexOf("="))] = kv.slice(kv.indexOf("=") + 1);
    }
  }
  return { argv: w, env, cancellable };
}
