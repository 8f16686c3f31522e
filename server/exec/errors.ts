// What can go wrong talking to a server, as types callers can act on.
export abstract class ExecError extends Error {
  abstract readonly kind: "unreachable" | "auth-failed" | "host-key-unknown" | "host-key-mismatch" | "command-failed" | "forward-failed" | "timeout" | "cancelled";
  constructor(
    message: string,
    readonly host: string,
  ) {
    super(message);
  }
}

export class UnreachableError extends ExecError {
  override name = "UnreachableError";
  readonly kind = "unreachable";
}

export class AuthFailedError extends ExecError {
  override name = "AuthFailedError";
  readonly kind = "auth-failed";
}

/** First contact: the server's key is not pinned yet. Nothing was run. */
export class HostKeyUnknownError extends ExecError {
  override name = "HostKeyUnknownError";
  readonly kind = "host-key-unknown";
  constructor(
    host: string,
    readonly presented: { type: string; base64: string; fingerprint: string },
  ) {
    super(`${host} presented host key ${presented.fingerprint} (${presented.type}), which is not trusted yet: accept it in the console, then try again`, host);
  }
}

/** The server's key differs from the pinned one. The connection stopped before authentication. */
export class HostKeyMismatchError extends ExecError {
  override name = "HostKeyMismatchError";
  readonly kind = "host-key-mismatch";
  constructor(
    host: string,
    readonly expected: string,
    readonly presented: { type: string; base64: string; fingerprint: string },
  ) {
    super(
      `HOST KEY MISMATCH for ${host}: expected ${expected}, but the server presented ${presented.fingerprint} (${presented.type}). Nothing was run. If the server was reinstalled, an admin can re-pin the key; otherwise someone may be intercepting the connection.`,
      host,
    );
  }
}

export class CommandFailedError extends ExecError {
  override name = "CommandFailedError";
  readonly kind = "command-failed";
  constructor(
    host: string,
    readonly command: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly lastLines: string[],
  ) {
    super(`${command} failed on ${host} with ${signal ? `signal ${signal}` : `exit code ${exitCode}`}${lastLines.length ? `:\n${lastLines.join("\n")}` : ""}`, host);
  }
}

/** The host is reachable, but it could not connect a forwarded channel to the address and port asked for (nothing listens there, or forwarding is disabled). */
export class ForwardFailedError extends ExecError {
  override name = "ForwardFailedError";
  readonly kind = "forward-failed";
}

export class TimeoutError extends ExecError {
  override name = "TimeoutError";
  readonly kind = "timeout";
}

export class CancelledError extends ExecError {
  override name = "CancelledError";
  readonly kind = "cancelled";
}
