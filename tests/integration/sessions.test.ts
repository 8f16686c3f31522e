// Sessions and accounts: expiry, disabling, password changes, invitations, and the
// rules that keep an enabled admin around.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Redis } from "ioredis";
import type { Db } from "@/server/db";
import { createTestDb } from "../support/test-db";
import { makeUser } from "../support/auth";
import { principalFromSession, principalFromApiToken, SESSION_ABSOLUTE_MS } from "@/server/auth/principal";
import { hashSecret } from "@/server/auth/tokens";
import { sessionCookie, readSessionToken } from "@/server/auth/cookies";
import { changePassword, completeSetup, createSetupLink, acceptInvite, login } from "@/server/services/auth";
import { inviteUser, setDisabled, setRole } from "@/server/services/users";
import { createToken } from "@/server/services/tokens";
import { LoginThrottle, MemoryThrottleStore } from "@/server/auth/throttle";
import { RedisThrottleStore } from "@/server/auth/throttle-redis";

let db: Db;
beforeAll(async () => {
  ({ db } = await createTestDb());
});
afterAll(() => db.$disconnect());
const req = { ip: "127.0.0.1", userAgent: "vitest" };

describe("first-run setup", () => {
  it("works once, with the latest link only, and never after an admin exists", async () => {
    const { db: fresh } = await createTestDb();
    const old = (await createSetupLink(fresh))!;
    const link = (await createSetupLink(fresh))!;
    await expect(completeSetup(fresh, { token: old, email: "a@x.test", name: "A", password: "long enough password" }, req)).rejects.toMatchObject({ field: "token" });
    const { user } = await completeSetup(fresh, { token: link, email: "a@x.test", name: "A", password: "long enough password" }, req);
    expect(user.role).toBe("admin");
    expect(await createSetupLink(fresh)).toBeNull();
    await expect(completeSetup(fresh, { token: link, email: "b@x.test", name: "B", password: "long enough password" }, req)).rejects.toMatchObject({ code: "CONFLICT" });
    await fresh.$disconnect();
  });
});

describe("sessions", () => {
  it("expire when idle, and never outlive their absolute lifetime", async () => {
    const u = await makeUser(db, "viewer");
    expect(await principalFromSession(db, u.sessionToken)).not.toBeNull();
    const row = await db.session.findUniqueOrThrow({ where: { tokenHash: hashSecret(u.sessionToken) } });
    await db.session.update({ where: { id: row.id }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect(await principalFromSession(db, u.sessionToken)).toBeNull();

    const v = await makeUser(db, "viewer");
    const vrow = await db.session.findUniqueOrThrow({ where: { tokenHash: hashSecret(v.sessionToken) } });
    const created = new Date(Date.now() - SESSION_ABSOLUTE_MS + 1000);
    await db.session.update({ where: { id: vrow.id }, data: { createdAt: created, lastSeenAt: new Date(Date.now() - 3600_000) } });
    await principalFromSession(db, v.sessionToken); // slides, but only up to the absolute limit
    const slid = await db.session.findUniqueOrThrow({ where: { id: vrow.id } });
    expect(slid.expiresAt.getTime()).toBeLessThanOrEqual(created.getTime() + SESSION_ABSOLUTE_MS);
  });

  it("cookies are __Host- prefixed and Secure over HTTPS, plain and HttpOnly otherwise", () => {
    expect(sessionCookie("t", true, 60)).toBe("__Host-rampart_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure");
    expect(sessionCookie("t", false, 60)).toBe("rampart_session=t; Path=/; HttpOnly; SameSite=Lax; Max-Age=60");
    expect(readSessionToken("a=b; __Host-rampart_session=xyz")).toBe("xyz");
  });
});

describe("accounts", () => {
  it("disabling a user ends their sessions and stops their tokens", async () => {
    const admin = await makeUser(db, "admin");
    const op = await makeUser(db, "operator");
    const token = (await createToken(db, op.principal, { name: "t", scope: "operate", expiresInDays: 1 })).token;
    expect(await principalFromApiToken(db, token)).not.toBeNull();
    await setDisabled(db, admin.principal, { id: op.user.id, disabled: true });
    expect(await principalFromSession(db, op.sessionToken)).toBeNull();
    expect(await principalFromApiToken(db, token)).toBeNull();
    await expect(login(db, new LoginThrottle(), { email: op.user.email, password: op.password }, req)).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("keeps at least one enabled admin", async () => {
    const { db: fresh } = await createTestDb();
    const only = await makeUser(fresh, "admin");
    await expect(setRole(fresh, { id: only.user.id, role: "viewer" })).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(setDisabled(fresh, only.principal, { id: only.user.id, disabled: true })).rejects.toMatchObject({ code: "CONFLICT" });
    await fresh.$disconnect();
  });

  it("changing your password signs out your other sessions and needs the current one", async () => {
    const u = await makeUser(db, "operator");
    const other = await makeUser(db, "viewer");
    // A second session for u.
    const second = await login(db, new LoginThrottle(), { email: u.user.email, password: u.password }, req);
    await expect(changePassword(db, u.principal, { currentPassword: "nope", newPassword: "another long password" })).rejects.toMatchObject({ field: "currentPassword" });
    await changePassword(db, u.principal, { currentPassword: u.password, newPassword: "another long password" });
    expect(await principalFromSession(db, u.sessionToken)).not.toBeNull();
    expect(await principalFromSession(db, second.sessionToken)).toBeNull();
    expect(await principalFromSession(db, other.sessionToken)).not.toBeNull();
  });

  it("an invitation link sets the password once", async () => {
    const invited = await inviteUser(db, { email: "new@x.test", name: "New", role: "operator" });
    const token = invited.invitePath.split("token=")[1]!;
    await acceptInvite(db, { token, password: "my new password!" }, req);
    await expect(acceptInvite(db, { token, password: "someone else's pw" }, req)).rejects.toMatchObject({ field: "token" });
    await expect(inviteUser(db, { email: "new@x.test", name: "Again", role: "viewer" })).rejects.toMatchObject({ code: "CONFLICT", field: "email" });
  });
});

const connections: Redis[] = [];
const connect = (keyPrefix: string) => {
  const c = new Redis(inject("redisUrl"), { keyPrefix });
  connections.push(c);
  return c;
};
afterAll(() => connections.forEach((c) => c.disconnect()));

describe("login throttle", () => {
  it.each([
    ["in memory", () => new MemoryThrottleStore()],
    ["in Redis", () => new RedisThrottleStore(connect(`t${Date.now()}:`))],
  ])("delays are bounded and per (account, address); known addresses skip the account-wide limit (%s)", async (_where, store) => {
    const t = new LoginThrottle({ freeAttempts: 2, perAccountFreeAttempts: 4, perAddressFreeAttempts: 100, baseDelayMs: 1000, maxDelayMs: 5000, windowMs: 60_000 }, store());
    let now = Date.now();
    await t.recordSuccess("a", "home", now);
    for (let i = 0; i < 10; i++) await t.recordFailure("a", "attacker", (now += 10));
    expect(await t.retryAfterMs("a", "attacker", now)).toBe(5000); // bounded
    expect(await t.retryAfterMs("a", "home", now)).toBe(0); // the real user's usual address
    expect(await t.retryAfterMs("a", "cafe", now)).toBeGreaterThan(0); // account-wide limit for new addresses
    expect(await t.retryAfterMs("a", "cafe", now + 5000)).toBe(0); // …bounded too
    expect(await t.retryAfterMs("a", "attacker", now + 5000)).toBe(0);
  });
});

describe("login throttle under parallel attempts", () => {
  it("twenty simultaneous wrong passwords from one address are not all checked", async () => {
    const u = await makeUser(db, "viewer");
    const t = new LoginThrottle();
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => login(db, t, { email: u.user.email, password: `wrong ${i}` }, req)));
    const codes = results.map((r) => (r.status === "rejected" ? (r.reason as { code: string }).code : "ok"));
    expect(codes.filter((c) => c === "UNAUTHORIZED").length).toBe(5);
    expect(codes.filter((c) => c === "TOO_MANY_REQUESTS").length).toBe(15);
  });

  it("two console processes sharing Redis throttle as one: twenty parallel wrong passwords split between them, five are checked", async () => {
    const u = await makeUser(db, "viewer");
    const prefix = `two-consoles-${Date.now()}:`;
    // Two throttles, each with its own Redis connection, as two console processes have.
    const consoles = [0, 1].map(() => new LoginThrottle(undefined, new RedisThrottleStore(connect(prefix))));
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => login(db, consoles[i % 2]!, { email: u.user.email, password: `wrong ${i}` }, req)));
    const codes = results.map((r) => (r.status === "rejected" ? (r.reason as { code: string }).code : "ok"));
    expect(codes.filter((c) => c === "UNAUTHORIZED").length).toBe(5);
    expect(codes.filter((c) => c === "TOO_MANY_REQUESTS").length).toBe(15);
    // And either one refuses the next attempt, even with the right password.
    await expect(login(db, consoles[0]!, { email: u.user.email, password: u.password }, req)).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
    await expect(login(db, consoles[1]!, { email: u.user.email, password: u.password }, req)).rejects.toMatchObject({ code: "TOO_MANY_REQUESTS" });
  });
});
