// tRPC initialisation. Domain errors become tRPC errors here, in one place.
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { Context } from "./context";
import { ServiceError } from "../services/errors";

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    return {
      ...shape,
      // A readable message ("delayBetweenChecksMs: must be 0 or more") instead of zod's JSON.
      message: cause instanceof ZodError ? cause.issues.map((i) => `${i.path.join(".") || "input"}: ${i.message}`).join("; ") : shape.message,
      data: {
        ...shape.data,
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
} as const;

const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof ServiceError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: CODE_MAP[cause.code], message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(domainErrors);
