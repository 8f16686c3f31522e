// Who is calling: resolved once per request from the session cookie or a Bearer
// token. Disabled users, expired sessions and revoked or expired tokens resolve to
// nobody.
import type { Db } from "../db";
import { Role, TokenScope, effectiveRank } from "./access";
import { hashSecret, API_TOKEN_PREFIX } from "./tokens";

export interface Principal {
  userId: string;
  email: string;
  name: string;
  role: Role;
  /** session or token */
  via: "session" | "token";
  sessionId?: string;
  tokenId?: string;
  tokenScope?: TokenScope;
  tokenPrefix?: string;
  rank: number;
}

export const SESSION_IDLE_MS = 12 * 3600_000;
export const SESSION_ABSOLUTE_MS = 7 * 24 * 3600_000;

export function principalLabel(p: Principal): string {
  return p.via === "token" ? `token ${p.tokenPrefix} (${p.email})` : p.email;
}

export async function principalFromSession(db: Db, token: string, now = new Date()): Promise<Principal | null> {
  const session = await db.session.findUnique({ where: { tokenHash: hashSecret(token) }, include: { user: true } });
  if (!session || session.expiresAt <= now || session.user.disabledAt) return null;
  // Slide the idle expiry, at most once a minute, never past the absolute lifetime.
  if (now.getTime() - session.lastSeenAt.getTime() > 60_000) {
    const expiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_MS, session.createdAt.getTime() + SESSION_ABSOLUTE_MS));
    await db.session.update({ where: { id: session.id }, data: { lastSeenAt: now, expiresAt } }).catch(() => {});
  }
  const role = Role.catch("viewer").parse(session.user.role);
  return { userId: session.user.id, email: session.user.email, name: session.user.name, role, via: "session", sessionId: session.id, rank: effectiveRank(role) };
}

export async function principalFromApiToken(db: Db, token: string, now = new Date()): Promise<Principal | null> {
  if (!token.startsWith(API_TOKEN_PREFIX)) return null;
  const row = await db.apiToken.findUnique({ where: { tokenHash: hashSecret(token) }, include: { user: true } });
  if (!row || row.revokedAt || row.expiresAt <= now || row.user.disabledAt) return null;
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > 60_000) {
    await db.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: now } }).catch(() => {});
  }
  const role = Role.catch("viewer").parse(row.user.role);
  const scope = TokenScope.catch("read").parse(row.scope);
  return {
    userId: row.user.id,
    email: row.user.email,
    name: row.user.name,
    role,
    via: "token",
    tokenId: row.id,
    tokenScope: scope,
    tokenPrefix: row.prefix,
    rank: effectiveRank(role, scope),
  };
}

/** Whether the credential a principal came from still holds: the session or token exists, is not expired or revoked, and its user is not disabled. */
export async function principalStillValid(db: Db, p: Principal, now = new Date()): Promise<boolean> {
  if (p.via === "session") {
    const s = p.sessionId ? await db.session.findUnique({ where: { id: p.sessionId }, include: { user: true } }) : null;
    return !!s && s.expiresAt > now && !s.user.disabledAt;
  }
  const t = p.tokenId ? await db.apiToken.findUnique({ where: { id: p.tokenId }, include: { user: true } }) : null;
  return !!t && !t.revokedAt && t.expiresAt > now && !t.user.disabledAt;
}

/** How often a long-lived response (a live stream) checks that its caller may still read it. */
export const PRINCIPAL_RECHECK_MS = 5_000;

/**
 * A signal that aborts once the principal's credential stops holding (sign-out,
 * expiry, a revoked token, a disabled user), checked every PRINCIPAL_RECHECK_MS while
 * `until` is not aborted: a stream opened before that ends instead of going on.
 */
export function abortWhenSignedOut(db: Db, p: Principal, until: AbortSignal): AbortSignal {
  const ended = new AbortController();
  const timer = setInterval(() => {
    principalStillValid(db, p)
      .then((ok) => {
        if (!ok) ended.abort(new Error("signed out"));
      })
      .catch(() => {
        // The database did not answer: check again next time.
      });
  }, PRINCIPAL_RECHECK_MS);
  const stop = () => clearInterval(timer);
  until.addEventListener("abort", stop, { once: true });
  ended.signal.addEventListener("abort", stop, { once: true });
  return ended.signal;
}
