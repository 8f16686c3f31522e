// Roles, token scopes and access levels, in one place. Every procedure declares
// the level it needs (server/api/trpc.ts enforces it for tRPC, REST and SSE alike).
import type { z } from "zod";
import { RoleSchema, TokenScopeSchema, TOKEN_SCOPES } from "../schemas/auth";

export const Role = RoleSchema;
export type Role = z.infer<typeof RoleSchema>;
export const TokenScope = TokenScopeSchema;
export type TokenScope = z.infer<typeof TokenScopeSchema>;

/**
 * public: anyone, signed in or not (login, first-run setup);
 * signedIn: any signed-in user, whatever their role (their own account);
 * read / operate / admin: viewers and up, operators and up, admins.
 */
export type Access = "public" | "signedIn" | "read" | "operate" | "admin";

const ROLE_RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const SCOPE_RANK: Record<TokenScope, number> = { read: 1, operate: 2, admin: 3 };
const ACCESS_RANK: Record<Access, number> = { public: 0, signedIn: 1, read: 1, operate: 2, admin: 3 };

export const roleRank = (r: Role) => ROLE_RANK[r];
export const scopeRank = (s: TokenScope) => SCOPE_RANK[s];
export const scopeForRole = (r: Role): TokenScope => TOKEN_SCOPES[ROLE_RANK[r] - 1]!;

/** What the caller may do: a token never exceeds its owner's role, nor its own scope. */
export function effectiveRank(role: Role, scope?: TokenScope): number {
  return scope ? Math.min(ROLE_RANK[role], SCOPE_RANK[scope]) : ROLE_RANK[role];
}

export function allows(rank: number, access: Access): boolean {
  return rank >= ACCESS_RANK[access];
}
