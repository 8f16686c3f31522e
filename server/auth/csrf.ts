// CSRF: a state-changing request authenticated by cookie must carry our custom
// header (which a cross-site form or simple fetch cannot send without a CORS
// preflight we never grant) and come from an allowed Origin. Requests with a
// Bearer token carry no ambient credentials and are exempt. `always` applies the
// check even without a session cookie (the console's tRPC endpoint, so that
// nobody can sign a victim's browser in to another account either).
import { readSessionToken } from "./cookies";

export const CSRF_HEADER = "x-rampart-csrf";

export function csrfProblem(opts: { method: string; headers: Headers; requestUrl: string; allowedOrigins: string[]; always: boolean }): string | null {
  const method = opts.method.toUpperCase();
  if (method === "GET" || method === "HEAD" || method === "OPTIONS") return null;
  if (opts.headers.get("authorization")?.startsWith("Bearer ")) return null;
  if (!opts.always && !readSessionToken(opts.headers.get("cookie"))) return null;
  if (opts.headers.get(CSRF_HEADER) !== "1") return `missing the ${CSRF_HEADER} header`;
  const origin = opts.headers.get("origin");
  if (!origin) return "missing the Origin header";
  const own = sameOrigin(opts.requestUrl, opts.headers);
  if (origin === own || opts.allowedOrigins.includes(origin)) return null;
  return `origin ${origin} is not allowed`;
}

/** The origin this request was addressed to, from its Host header. */
function sameOrigin(requestUrl: string, headers: Headers): string | null {
  const host = headers.get("host");
  if (!host) return null;
  const proto = new URL(requestUrl).protocol;
  return `${proto}//${host}`;
}
