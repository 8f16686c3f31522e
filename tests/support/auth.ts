// Users, sessions and tokens for tests, made through the same services the console uses.
import type { Db } from "@/server/db";
import type { Context } from "@/server/api/context";
import { hashPassword } from "@/server/auth/password";
import { hashSecret, newSecret } from "@/server/auth/tokens";
import { principalFromSession, type Principal } from "@/server/auth/principal";
import { SESSION_IDLE_MS } from "@/server/auth/principal";

export async function makeUser(db: Db, role: "viewer" | "operator" | "admin", email = `${role}-${Math.random().toString(36).slice(2, 8)}@example.test`, password = "correct horse battery") {
  const user = await db.user.create({ data: { email, name: role, role, passwordHash: await hashPassword(password) } });
  const sessionToken = newSecret();
  await db.session.create({ data: { tokenHash: hashSecret(sessionToken), userId: user.id, expiresAt: new Date(Date.now() + SESSION_IDLE_MS) } });
  const principal = (await principalFromSession(db, sessionToken)) as Principal;
  return { user, password, sessionToken, principal, cookie: `rampart_session=${sessionToken}` };
}

export function contextFor(db: Db, principal: Principal | null): Context {
  return { db, principal, badToken: false, ip: "127.0.0.1", userAgent: "vitest", resHeaders: new Headers(), secureCookies: false };
}
