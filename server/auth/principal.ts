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
