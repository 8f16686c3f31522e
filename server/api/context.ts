// What every procedure gets: the database, who is calling (resolved once from the
// session cookie or a Bearer token), where from, and response headers for cookies.
import type { Db } from "../db";
import { db } from "../db";
import { env } from "../env";
import type { Principal } from "../auth/principal";
import { principalFromApiToken, principalFromSession } from "../auth/principal";
import { isHttps, readSessionToken } from "../auth/cookies";

export interface Context {
  db: Db;
  principal: Principal | null;
  /** A Bearer token was sent but is unknown, revoked or expired. */
  badToken: boolean;
  ip: string | null;
  userAgent: string | null;
  /** Set cookies here (login, logout); null for in-process callers. */
  resHeaders: Headers | null;
  secureCookies: boolean;
}

/** The client address, as set by Rampart's own web server (scripts/web-server.mjs), never by the client. */
export const CLIENT_IP_HEADER = "x-rampart-client-ip";

export async function createContext(opts: { req: Request | null; resHeaders?: Headers | null }): Promise<Context> {
  const database = await db();
  const headers = opts.req?.headers ?? null;
  const secureCookies = isHttps(opts.req?.url ?? null, env().PUBLIC_URL);
  let principal: Principal | null = null;
  let badToken = false;
  const auth = headers?.get("authorization");
  if (auth?.startsWith("Bearer ")) {
    principal = await principalFromApiToken(database, auth.slice("Bearer ".length).trim());
    badToken = principal === null;
  } else {
    const token = readSessionToken(headers?.get("cookie") ?? null, secureCookies);
    if (token) principal = await principalFromSession(database, token);
  }
  return {
    db: database,
    principal,
    badToken,
    ip: headers?.get(CLIENT_IP_HEADER) ?? null,
    userAgent: headers?.get("user-agent") ?? null,
    resHeaders: opts.resHeaders ?? null,
    secureCookies,
  };
}
