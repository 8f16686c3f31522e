// Signing in and out, first-run setup, accepting an invitation, and your own password.
import { z } from "zod";
import { router, publicProcedure, signedInProcedure } from "../trpc";
import { AcceptInviteInput, ChangePasswordInput, LoginInput, MeDto, SetupInput } from "../../schemas/auth";
import { acceptInvite, changePassword, completeSetup, login, logout, needsSetup } from "../../services/auth";
import { clearSessionCookie, sessionCookie } from "../../auth/cookies";
import { SESSION_ABSOLUTE_MS } from "../../auth/principal";
import { DEFAULT_THROTTLE, LoginThrottle } from "../../auth/throttle";
import { RedisThrottleStore } from "../../auth/throttle-redis";
import { redis } from "../../queue/producer";
import { env } from "../../env";
import type { Context } from "../context";
import { toUserDto } from "../../services/users";

const g = globalThis as unknown as { rampartLoginThrottle?: LoginThrottle };
function throttle(): LoginThrottle {
  // In Redis, so every console process of the installation counts the same failures.
  g.rampartLoginThrottle ??= new LoginThrottle({ ...DEFAULT_THROTTLE, maxDelayMs: env().LOGIN_MAX_DELAY_MS }, new RedisThrottleStore(redis()));
  return g.rampartLoginThrottle;
}

function setSession(ctx: Context, token: string) {
  ctx.resHeaders?.append("set-cookie", sessionCookie(token, ctx.secureCookies, SESSION_ABSOLUTE_MS / 1000));
}

const SignedInDto = z.object({ user: z.object({ id: z.string(), email: z.string(), name: z.string(), role: z.string() }) });

export const authRouter = router({
  /** Who am I, and does Rampart still need its first admin? Answers anyone. */
  me: publicProcedure
    .meta({ openapi: { method: "GET", path: "/me", protect: false, tags: ["auth"], summary: "The caller, and whether first-run setup is pending" } })
    .input(z.void())
    .output(MeDto)
    .query(async ({ ctx }) => {
      const p = ctx.principal;
      return {
        user: p ? { id: p.userId, email: p.email, name: p.name, role: p.role, via: p.via, tokenScope: p.tokenScope ?? null } : null,
        needsSetup: p ? false : await needsSetup(ctx.db),
      };
    }),

  setup: publicProcedure
    .meta({ audit: false })
    .input(SetupInput)
    .output(SignedInDto)
    .mutation(async ({ ctx, input }) => {
      const { user, sessionToken } = await completeSetup(ctx.db, input, ctx);
      setSession(ctx, sessionToken);
      return { user: toUserDto(user) };
    }),

  login: publicProcedure
    .meta({ audit: false })
    .input(LoginInput)
    .output(SignedInDto)
    .mutation(async ({ ctx, input }) => {
      const { user, sessionToken } = await login(ctx.db, throttle(), input, ctx);
      setSession(ctx, sessionToken);
      return { user: toUserDto(user) };
    }),

  acceptInvite: publicProcedure
    .meta({ audit: false })
    .input(AcceptInviteInput)
    .output(SignedInDto)
    .mutation(async ({ ctx, input }) => {
      const { user, sessionToken } = await acceptInvite(ctx.db, input, ctx);
      setSession(ctx, sessionToken);
      return { user: toUserDto(user) };
    }),

  logout: signedInProcedure.input(z.void()).mutation(async ({ ctx }) => {
    await logout(ctx.db, ctx.principal!);
    ctx.resHeaders?.append("set-cookie", clearSessionCookie(ctx.secureCookies));
    return { id: ctx.principal!.userId };
  }),

  changePassword: signedInProcedure.input(ChangePasswordInput).mutation(({ ctx, input }) => changePassword(ctx.db, ctx.principal!, input)),
});
