// Signing in and out, first-run setup, invitations and passwords.
import type { Db } from "../db";
import { hashPassword, verifyPassword, dummyHash } from "../auth/password";
import { hashSecret, newSecret } from "../auth/tokens";
import { SESSION_IDLE_MS, type Principal } from "../auth/principal";
import { recordAudit, type AuditActor } from "../auth/audit";
import type { LoginThrottle } from "../auth/throttle";
import { ServiceError } from "./errors";

export interface RequestInfo {
  ip: string | null;
  userAgent: string | null;
}

const SETUP_LINK_MS = 24 * 3600_000;
export const INVITE_LINK_MS = 72 * 3600_000;

async function createSession(db: Db, userId: string, req: RequestInfo): Promise<string> {
  const token = newSecret();
  await db.session.create({
    data: { tokenHash: hashSecret(token), userId, expiresAt: new Date(Date.now() + SESSION_IDLE_MS), ip: req.ip, userAgent: req.userAgent?.slice(0, 300) },
  });
  return token;
}

export async function needsSetup(db: Db): Promise<boolean> {
  return (await db.user.count()) === 0;
}

/** While no user exists: a new one-time setup link (older ones stop working). Null once an admin exists. */
export async function createSetupLink(db: Db): Promise<string | null> {
  if (!(await needsSetup(db))) return null;
  const token = newSecret();
  await db.$transaction([
    db.oneTimeLink.updateMany({ where: { purpose: "setup", usedAt: null }, data: { usedAt: new Date() } }),
    db.oneTimeLink.create({ data: { tokenHash: hashSecret(token), purpose: "setup", expiresAt: new Date(Date.now() + SETUP_LINK_MS) } }),
  ]);
  return token;
}

async function peekLink(db: Db, token: string, purpose: "setup" | "invite") {
  const link = await db.oneTimeLink.findUnique({ where: { tokenHash: hashSecret(token) } });
  if (!link || link.purpose !== purpose || link.usedAt || link.expiresAt <= new Date()) return null;
  return link;
}

async function takeLink(db: Db, token: string, purpose: "setup" | "invite") {
  const link = await peekLink(db, token, purpose);
  if (!link) return null;
  // Claim it atomically: a link works once, even under concurrent use.
  const { count } = await db.oneTimeLink.updateMany({ where: { id: link.id, usedAt: null }, data: { usedAt: new Date() } });
  return count === 1 ? link : null;
}

export async function completeSetup(db: Db, input: { token: string; email: string; name: string; password: string }, req: RequestInfo) {
  if (!(await needsSetup(db))) throw new ServiceError("CONFLICT", "Rampart already has an admin: sign in instead");
  // Check the link before spending a (deliberately slow) password hash on it.
  if (!(await peekLink(db, input.token, "setup"))) throw new ServiceError("BAD_REQUEST", "This setup link is invalid, used or expired: restart Rampart (npm start) to print a new one", "token");
  const passwordHash = await hashPassword(input.password);
  const link = await takeLink(db, input.token, "setup");
  if (!link) throw new ServiceError("BAD_REQUEST", "This setup link is invalid, used or expired: restart Rampart (npm start) to print a new one", "token");
  const user = await db.user.create({ data: { email: input.email, name: input.name, role: "admin", passwordHash } });
  const actor: AuditActor = { kind: "user", id: user.id, label: user.email };
  await recordAudit(db, { actor, action: "auth.setup", target: user.email, outcome: "ok", detail: { role: "admin" }, ...req });
  return { user, sessionToken: await createSession(db, user.id, req) };
}

export async function login(db: Db, throttle: LoginThrottle, input: { email: string; password: string }, req: RequestInfo) {
  return throttle.serialize(input.email, req.ip ?? "unknown", () => attemptLogin(db, throttle, input, req));
}

async function attemptLogin(db: Db, throttle: LoginThrottle, input: { email: string; password: string }, req: RequestInfo) {
  const address = req.ip ?? "unknown";
  const actor: AuditActor = { kind: "anonymous", id: null, label: input.email };
  const wait = await throttle.retryAfterMs(input.email, address);
  if (wait > 0) {
    await recordAudit(db, { actor, action: "auth.login", target: input.email, outcome: "denied", detail: { reason: "throttled", retryAfterMs: wait }, ...req });
    throw new ServiceError("TOO_MANY_REQUESTS", `Too many failed sign-ins: try again in ${Math.ceil(wait / 1000)} s`);
  }
  const user = await db.user.findUnique({ where: { email: input.email } });
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyHash()));
  if (!user || !ok || !user.passwordHash) {
    await throttle.recordFailure(input.email, address);
    await recordAudit(db, { actor, action: "auth.login", target: input.email, outcome: "denied", detail: { reason: "wrong email or password" }, ...req });
    throw new ServiceError("UNAUTHORIZED", "Wrong email or password");
  }
  if (user.disabledAt) {
    await recordAudit(db, { actor, action: "auth.login", target: input.email, outcome: "denied", detail: { reason: "account disabled" }, ...req });
    throw new ServiceError("FORBIDDEN", "This account is disabled: ask an admin");
  }
  await throttle.recordSuccess(input.email, address);
  await recordAudit(db, { actor: { kind: "user", id: user.id, label: user.email }, action: "auth.login", target: user.email, outcome: "ok", ...req });
  return { user, sessionToken: await createSession(db, user.id, req) };
}

export async function logout(db: Db, principal: Principal) {
  if (principal.sessionId) await db.session.deleteMany({ where: { id: principal.sessionId } });
}

export async function acceptInvite(db: Db, input: { token: string; password: string }, req: RequestInfo) {
  const peeked = await peekLink(db, input.token, "invite");
  if (!peeked?.userId) throw new ServiceError("BAD_REQUEST", "This invitation link is invalid, used or expired: ask an admin for a new one", "token");
  const invitee = await db.user.findUnique({ where: { id: peeked.userId } });
  if (!invitee || invitee.disabledAt) throw new ServiceError("FORBIDDEN", "This account is disabled: ask an admin");
  const passwordHash = await hashPassword(input.password);
  const link = await takeLink(db, input.token, "invite");
  if (!link?.userId) throw new ServiceError("BAD_REQUEST", "This invitation link is invalid, used or expired: ask an admin for a new one", "token");
  const user = await db.user.update({ where: { id: link.userId }, data: { passwordHash, passwordChangedAt: new Date() } });
  await recordAudit(db, { actor: { kind: "user", id: user.id, label: user.email }, action: "auth.acceptInvite", target: user.email, outcome: "ok", ...req });
  if (user.disabledAt) throw new ServiceError("FORBIDDEN", "This account is disabled: ask an admin");
  return { user, sessionToken: await createSession(db, user.id, req) };
}

export async function changePassword(db: Db, principal: Principal, input: { currentPassword: string; newPassword: string }) {
  if (principal.via !== "session") throw new ServiceError("FORBIDDEN", "Change your password in the console, not with an API token");
  const user = await db.user.findUniqueOrThrow({ where: { id: principal.userId } });
  if (!user.passwordHash || !(await verifyPassword(input.currentPassword, user.passwordHash))) throw new ServiceError("BAD_REQUEST", "The current password is wrong", "currentPassword");
  if (input.currentPassword === input.newPassword) throw new ServiceError("BAD_REQUEST", "The new password must differ from the current one", "newPassword");
  await db.user.update({ where: { id: user.id }, data: { passwordHash: await hashPassword(input.newPassword), passwordChangedAt: new Date() } });
  // Other browsers signed in as this user are signed out.
  await db.session.deleteMany({ where: { userId: user.id, NOT: { id: principal.sessionId } } });
  return { id: user.id };
}
