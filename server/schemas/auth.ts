// Schemas for users, sessions, API tokens and the audit log, shared by the
// console's forms and the routers. No server-only imports.
import { z } from "zod";

export const ROLES = ["viewer", "operator", "admin"] as const;
export const RoleSchema = z.enum(ROLES);
export const TOKEN_SCOPES = ["read", "operate", "admin"] as const;
export const TokenScopeSchema = z.enum(TOKEN_SCOPES);

export const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(254, "must be at most 254 characters")
  .pipe(z.email({ error: "must be an email address such as alice@example.com" }));
export const Password = z.string().min(12, "must be at least 12 characters").max(200, "must be at most 200 characters");
export const PersonName = z.string().trim().min(1, "is required").max(100, "must be at most 100 characters");
export const OneTimeToken = z.string().trim().min(20, "is not a valid link token").max(200, "is not a valid link token");

export const LoginInput = z.object({ email: Email, password: z.string().min(1, "is required").max(200) });
export const SetupInput = z.object({ token: OneTimeToken, email: Email, name: PersonName, password: Password });
export const AcceptInviteInput = z.object({ token: OneTimeToken, password: Password });
export const ChangePasswordInput = z.object({ currentPassword: z.string().min(1, "is required").max(200), newPassword: Password });

export const InviteUserInput = z.object({ email: Email, name: PersonName, role: RoleSchema });
export const UserIdInput = z.object({ id: z.string().min(1).max(64) });
export const SetRoleInput = z.object({ id: z.string().min(1).max(64), role: RoleSchema });
export const SetDisabledInput = z.object({ id: z.string().min(1).max(64), disabled: z.boolean() });

export const CreateTokenInput = z.object({
  name: z.string().trim().min(1, "is required").max(100, "must be at most 100 characters"),
  scope: TokenScopeSchema,
  expiresInDays: z.number().int().min(1, "must be at least 1 day").max(365, "must be at most 365 days"),
});
export const TokenIdInput = z.object({ id: z.string().min(1).max(64) });
export const TokenListInput = z.object({ all: z.boolean().default(false) }).default({ all: false });

export const AuditListInput = z.object({
  actor: z.string().max(200).optional(),
  action: z.string().max(200).optional(),
  outcome: z.enum(["ok", "denied", "error"]).optional(),
  limit: z.number().int().min(1).max(500).default(100),
  cursor: z.number().int().positive().nullish(),
});

// Outputs (also the REST API's response schemas).
export const UserDto = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: RoleSchema,
  disabled: z.boolean(),
  hasPassword: z.boolean(),
  createdAt: z.date(),
});
export const MeDto = z.object({
  user: z.object({ id: z.string(), email: z.string(), name: z.string(), role: RoleSchema, via: z.enum(["session", "token"]), tokenScope: TokenScopeSchema.nullable() }).nullable(),
  needsSetup: z.boolean(),
});
export const TokenDto = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scope: TokenScopeSchema,
  owner: z.string(),
  createdAt: z.date(),
  expiresAt: z.date(),
  lastUsedAt: z.date().nullable(),
  revokedAt: z.date().nullable(),
});
export const CreatedTokenDto = TokenDto.extend({ token: z.string() });
export const AuditEntryDto = z.object({
  id: z.number(),
  at: z.date(),
  actorKind: z.string(),
  actorLabel: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  outcome: z.string(),
  detail: z.string(),
  ip: z.string().nullable(),
});
export const InvitedUserDto = z.object({ user: UserDto, invitePath: z.string() });
