// API tokens: created with a scope and an expiry, shown once, stored as a hash.
import type { Db } from "../db";
import { API_TOKEN_PREFIX, hashSecret, newSecret, tokenDisplayPrefix } from "../auth/tokens";
import { roleRank, scopeRank, scopeForRole, TokenScope } from "../auth/access";
import type { Principal } from "../auth/principal";
import { ServiceError } from "./errors";

type TokenRow = Awaited<ReturnType<Db["apiToken"]["findUniqueOrThrow"]>> & { user: { email: string } };

function toTokenDto(t: TokenRow) {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    scope: TokenScope.catch("read").parse(t.scope),
    owner: t.user.email,
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    lastUsedAt: t.lastUsedAt,
    revokedAt: t.revokedAt,
  };
}

export async function listTokens(db: Db, principal: Principal, all: boolean) {
  if (all && principal.rank < 3) throw new ServiceError("FORBIDDEN", "Only admins may list everyone's tokens");
  const rows = await db.apiToken.findMany({ where: all ? {} : { userId: principal.userId }, include: { user: { select: { email: true } } }, orderBy: { createdAt: "desc" } });
  return rows.map(toTokenDto);
}

export async function createToken(db: Db, principal: Principal, input: { name: string; scope: TokenScope; expiresInDays: number }) {
  if (principal.via !== "session") throw new ServiceError("FORBIDDEN", "Create API tokens in the console, not with another token");
  if (scopeRank(input.scope) > roleRank(principal.role))
    throw new ServiceError("BAD_REQUEST", `As ${principal.role === "admin" ? "an" : "a"} ${principal.role} you can create tokens up to the "${scopeForRole(principal.role)}" scope`, "scope");
  const token = newSecret(API_TOKEN_PREFIX);
  const row = await db.apiToken.create({
    data: {
      name: input.name,
      prefix: tokenDisplayPrefix(token),
      tokenHash: hashSecret(token),
      scope: input.scope,
      userId: principal.userId,
      expiresAt: new Date(Date.now() + input.expiresInDays * 86_400_000),
    },
    include: { user: { select: { email: true } } },
  });
  return { ...toTokenDto(row), token };
}

export async function revokeToken(db: Db, principal: Principal, id: string) {
  const row = await db.apiToken.findUnique({ where: { id }, include: { user: { select: { email: true } } } });
  if (!row || (row.userId !== principal.userId && principal.rank < 3)) throw new ServiceError("NOT_FOUND", `No token with id ${id}`, "id");
  if (row.revokedAt) return toTokenDto(row);
  return toTokenDto(await db.apiToken.update({ where: { id }, data: { revokedAt: new Date() }, include: { user: { select: { email: true } } } }));
}
