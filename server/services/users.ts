// Users, for admins: invite, change roles, disable. There is always an enabled admin.
import type { Db } from "../db";
import { hashSecret, newSecret } from "../auth/tokens";
import { Role } from "../auth/access";
import type { Principal } from "../auth/principal";
import { ServiceError } from "./errors";
import { INVITE_LINK_MS } from "./auth";

type UserRow = Awaited<ReturnType<Db["user"]["findUniqueOrThrow"]>>;

export function toUserDto(u: UserRow) {
  return { id: u.id, email: u.email, name: u.name, role: Role.catch("viewer").parse(u.role), disabled: u.disabledAt !== null, hasPassword: u.passwordHash !== null, createdAt: u.createdAt };
}

export async function listUsers(db: Db) {
  return (await db.user.findMany({ orderBy: { createdAt: "asc" } })).map(toUserDto);
}

async function newInvite(db: Db, userId: string): Promise<string> {
  const token = newSecret();
  await db.oneTimeLink.updateMany({ where: { purpose: "invite", userId, usedAt: null }, data: { usedAt: new Date() } });
  await db.oneTimeLink.create({ data: { tokenHash: hashSecret(token), purpose: "invite", userId, expiresAt: new Date(Date.now() + INVITE_LINK_MS) } });
  return `/invite?token=${token}`;
}

export async function inviteUser(db: Db, input: { email: string; name: string; role: Role }) {
  if (await db.user.findUnique({ where: { email: input.email } })) throw new ServiceError("CONFLICT", `A user with the email ${input.email} already exists`, "email");
  const user = await db.user.create({ data: { email: input.email, name: input.name, role: input.role } });
  return { user: toUserDto(user), invitePath: await newInvite(db, user.id) };
}

/** A fresh invitation link for a user who has not set a password yet (the old link stops working). */
export async function reinviteUser(db: Db, id: string) {
  const user = await db.user.findUnique({ where: { id } });
  if (!user) throw new ServiceError("NOT_FOUND", `No user with id ${id}`, "id");
  if (user.passwordHash) throw new ServiceError("CONFLICT", `${user.email} has already set a password`);
  return { user: toUserDto(user), invitePath: await newInvite(db, user.id) };
}

async function assertAnotherAdmin(db: Db, exceptId: string) {
  const others = await db.user.count({ where: { role: "admin", disabledAt: null, id: { not: exceptId } } });
  if (others === 0) throw new ServiceError("CONFLICT", "This is the last enabled admin: make someone else an admin first");
}

export async function setRole(db: Db, input: { id: string; role: Role }) {
  const user = await db.user.findUnique({ where: { id: input.id } });
  if (!user) throw new ServiceError("NOT_FOUND", `No user with id ${input.id}`, "id");
  if (user.role === "admin" && input.role !== "admin") await assertAnotherAdmin(db, user.id);
  return toUserDto(await db.user.update({ where: { id: user.id }, data: { role: input.role } }));
}

export async function setDisabled(db: Db, actor: Principal, input: { id: string; disabled: boolean }) {
  const user = await db.user.findUnique({ where: { id: input.id } });
  if (!user) throw new ServiceError("NOT_FOUND", `No user with id ${input.id}`, "id");
  if (input.disabled && user.id === actor.userId) throw new ServiceError("CONFLICT", "You cannot disable your own account");
  if (input.disabled && user.role === "admin") await assertAnotherAdmin(db, user.id);
  const updated = await db.user.update({ where: { id: user.id }, data: { disabledAt: input.disabled ? new Date() : null } });
  // A disabled user's sessions end now; their tokens are refused while disabled.
  if (input.disabled) await db.session.deleteMany({ where: { userId: user.id } });
  return toUserDto(updated);
}
