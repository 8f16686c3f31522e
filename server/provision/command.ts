// Commands are data: an argument vector, optional environment and stdin. They are
// turned into the one string an SSH "exec" request carries here, and only here,
// with every argument quoted for a POSIX shell. Nothing else in Rampart builds
// shell strings.
import type { Secret } from "../secrets/secret";

export interface Command {
  argv: string[];
  env?: Record<string, string>;
  stdin?: string | Buffer | Secret;
  /** Run as root: through `sudo -n` when the login user is not root. Default true. */
  asRoot?: boolean;
  timeoutMs?: number;
  /** Values to hide if they show up in the output (passwords passed on stdin, say). */
  secrets?: Secret[];
  /**
   * The SSH session's SSH_CONNECTION (who Rampart connects from, as the host sees it)
   * reaches the command as RAMPART_SSH_CONNECTION, also through sudo, which drops it.
   */
  forwardSshConnection?: boolean;
}

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class CommandBuildError extends Error {
  override name = "CommandBuildError";
}

/** One argument, quoted so that a POSIX shell passes it through byte for byte. */
export function shellQuote(arg: string): string {
  if (arg.includes("\0")) throw new CommandBuildError("an argument contains a NUL byte, which no command line can carry");
  if (arg !== "" && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The remote command line for `cmd`, run by `loginUser`. `exec` replaces the
 * remote shell with the command, so a signal sent on the channel (cancel) reaches
 * the command itself.
 */
export function renderCommand(cmd: Command, loginUser: string): string {
  if (cmd.argv.length === 0) throw new CommandBuildError("a command needs at least a program name");
  const argv: string[] = [];
  if ((cmd.asRoot ?? true) && loginUser !== "root") argv.push("sudo", "-n", "--");
  const env = Object.entries(cmd.env ?? {});
  if (env.length > 0) {
    argv.push("env");
    for (const [k, v] of env) {
      if (!ENV_NAME.test(k)) throw new CommandBuildError(`"${k}" is not a valid environment variable name`);
      argv.push(`${k}=${v}`);
    }
  }
  argv.push(...cmd.argv);
  const words = argv.map(shellQuote);
  // sudo resets the environment: the one word the login shell expands, whole, is
  // "$SSH_CONNECTION", handed on past sudo as an argument of env.
  if (cmd.forwardSshConnection && words[0] === "sudo") words.splice(3, 0, "env", '"RAMPART_SSH_CONNECTION=$SSH_CONNECTION"');
  return `exec ${words.join(" ")}`;
}

/** The first stderr line of a cancellable command: its process group, for a later kill. */
export const PGID_MARKER = "RAMPART_PGID=";
const PGID_SCRIPT = `echo "${PGID_MARKER}$$" >&2; exec "$@"`;

/**
 * Like renderCommand, but the command runs in a process group of its own and
 * announces the group's id first on stderr, so a cancel can stop it and all its
 * children (apt-get and the dpkg it starts, say) with renderKillGroup. SSH's own
 * "signal" request is not relied on: OpenSSH ignores it for most sessions.
 */
export function renderCancellable(cmd: Command, loginUser: string): string {
  const inner = renderCommand(cmd, "root").slice("exec ".length);
  const sudo = (cmd.asRoot ?? true) && loginUser !== "root";
  const prefix = sudo ? `sudo -n -- ${cmd.forwardSshConnection ? 'env "RAMPART_SSH_CONNECTION=$SSH_CONNECTION" ' : ""}` : "";
  return `exec ${prefix}setsid -w sh -c ${shellQuote(PGID_SCRIPT)} rampart ${inner}`;
}

/** Sends a signal to a process group started by renderCancellable. */
export function renderKillGroup(pgid: number, signal: "TERM" | "KILL", asRoot: boolean, loginUser: string): string {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new CommandBuildError(`not a process group id: ${pgid}`);
  return renderCommand({ argv: ["kill", `-${signal}`, "--", `-${pgid}`], asRoot }, loginUser);
}

/** A readable form for plans and logs (secrets never appear in argv: they go on stdin). */
export function describeCommand(cmd: Command): string {
  return [...Object.entries(cmd.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)}`), ...cmd.argv.map(shellQuote)].join(" ");
}
