// tRPC initialisation, and the one place where access is enforced and mutations
// are audited. Every procedure is built from one of the builders at the bottom,
// each of which declares an access level; a procedure without one is refused
// (and tests/integration/access.test.ts fails).
import { randomBytes } from "node:crypto";
import { initTRPC, TRPCError } from "@trpc/server";
import type { OpenApiMeta } from "trpc-to-openapi";
import superjson from "superjson";
import { ZodError } from "zod";
import type { Context } from "./context";
import { ServiceError } from "../services/errors";
import { type Access, allows } from "../auth/access";
import { actorOf, recordAudit } from "../auth/audit";

export type Meta = OpenApiMeta & {
  access?: Access;
  /** false: the procedure writes its own audit entry (login, setup). */
  audit?: boolean;
};

const t = initTRPC
  .context<Context>()
  .meta<Meta>()
  .create({
    transformer: superjson,
    errorFormatter({ shape, error, path }) {
      const cause = error.cause;
      // An unexpected error's own text (a database or Redis error, a file path) is for the
      // log, not for whoever called: they get a reference to quote instead.
      const internal = error.code === "INTERNAL_SERVER_ERROR";
      const reference = internal ? randomBytes(4).toString("hex") : null;
      if (internal) console.error(`tRPC ${path ?? "?"} [ref ${reference}]: ${error.message}${error.cause?.stack ? `\n${error.cause.stack}` : ""}`);
      return {
        ...shape,
        // A readable message ("delayBetweenChecksMs: must be 0 or more") instead of zod's JSON.
        message: internal
          ? `Something went wrong on the server (reference ${reference}); the details are in Rampart's log`
          : cause instanceof ZodError
            ? cause.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ")
            : shape.message,
        data: {
          ...shape.data,
          stack: undefined,
          // Field-level problems for forms: { fieldName: ["message"] }.
          fieldErrors:
            cause instanceof ZodError
              ? Object.fromEntries(cause.issues.map((i) => [i.path.join(".") || "input", [i.message]]))
              : cause instanceof ServiceError && cause.field
                ? { [cause.field]: [cause.message] }
                : null,
        },
      };
    },
  });

const CODE_MAP = {
  BAD_REQUEST: "BAD_REQUEST",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  FORBIDDEN: "FORBIDDEN",
  UNAUTHORIZED: "UNAUTHORIZED",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
  TOO_MANY_REQUESTS: "TOO_MANY_REQUESTS",
} as const;

const LEVEL_WORDS: Record<Access, string> = {
  public: "anyone",
  signedIn: "signed-in users",
  read: "viewers, operators and admins",
  operate: "operators and admins",
  admin: "admins",
};

function targetOf(input: unknown, output: unknown): string | null {
  for (const v of [input, output]) {
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      for (const k of ["id", "email", "name"]) if (typeof o[k] === "string") return o[k] as string;
    }
  }
  return null;
}

const guard = t.middleware(async ({ ctx, meta, path, type, next, getRawInput }) => {
  const access = meta?.access;
  let denial: TRPCError | null = null;
  if (!access) denial = new TRPCError({ code: "FORBIDDEN", message: `${path} declares no access rule, so nobody may call it` });
  else if (access !== "public" && ctx.badToken) denial = new TRPCError({ code: "UNAUTHORIZED", message: "The API token is unknown, revoked or expired" });
  else if (access !== "public" && !ctx.principal) denial = new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
  else if (access && ctx.principal && !allows(ctx.principal.rank, access))
    denial = new TRPCError({
      code: "FORBIDDEN",
      message: `Only ${LEVEL_WORDS[access]} may do this${ctx.principal.via === "token" ? ` (this token's scope is ${ctx.principal.tokenScope})` : ` (you are a ${ctx.principal.role})`}`,
    });

  const audit = async (outcome: "ok" | "denied" | "error", output: unknown, reason?: string) => {
    if (type !== "mutation" || meta?.audit === false) return;
    // Nobody signed in: record the attempt, not whatever they sent (the log is append-only).
    const input = ctx.principal ? await getRawInput().catch(() => undefined) : undefined;
    try {
      await recordAudit(ctx.db, {
        actor: actorOf(ctx.principal),
        action: path,
        target: targetOf(input, output),
        outcome,
        detail: { input: input ?? null, ...(reason ? { reason } : {}) },
        ip: ctx.ip,
        userAgent: ctx.userAgent,
      });
    } catch (err) {
      // The action itself happened (or was refused): report the lost audit entry, don't fail the call.
      console.error(`audit: could not record ${path} (${outcome}): ${(err as Error).message}`);
    }
  };

  if (denial) {
    await audit("denied", null, denial.message);
    throw denial;
  }
  const result = await next();
  if (result.ok) {
    await audit("ok", result.data);
    return result;
  }
  const cause = result.error.cause;
  const error = cause instanceof ServiceError ? new TRPCError({ code: CODE_MAP[cause.code], message: cause.message, cause }) : result.error;
  await audit(error.code === "FORBIDDEN" || error.code === "UNAUTHORIZED" ? "denied" : "error", null, error.message);
  throw error;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const base = t.procedure.use(guard);
/** Anyone, signed in or not: login, first-run setup, accepting an invitation. */
export const publicProcedure = base.meta({ access: "public" });
/** Any signed-in user, for their own account. */
export const signedInProcedure = base.meta({ access: "signedIn" });
/** Viewers and up: reading. */
export const readProcedure = base.meta({ access: "read" });
/** Operators and up: defining and applying infrastructure. */
export const operateProcedure = base.meta({ access: "operate" });
/** Admins: users, SSH keys, settings, anyone's tokens, the audit log. */
export const adminProcedure = base.meta({ access: "admin" });
/** For tests only: a procedure with no access level, which the guard must refuse. */
export const unguardedProcedureForTests = base;
