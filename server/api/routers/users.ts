// Users, for admins.
import { z } from "zod";
import { router, adminProcedure } from "../trpc";
import { InviteUserInput, InvitedUserDto, SetDisabledInput, SetRoleInput, UserDto, UserIdInput } from "../../schemas/auth";
import { inviteUser, listUsers, reinviteUser, setDisabled, setRole } from "../../services/users";

export const usersRouter = router({
  list: adminProcedure
    .meta({ openapi: { method: "GET", path: "/users", protect: true, tags: ["users"], summary: "List users" } })
    .input(z.void())
    .output(z.array(UserDto))
    .query(({ ctx }) => listUsers(ctx.db)),

  invite: adminProcedure
    .meta({ openapi: { method: "POST", path: "/users", protect: true, tags: ["users"], summary: "Invite a user; returns a one-time link to set their password" } })
    .input(InviteUserInput)
    .output(InvitedUserDto)
    .mutation(({ ctx, input }) => inviteUser(ctx.db, input)),

  reinvite: adminProcedure
    .meta({ openapi: { method: "POST", path: "/users/{id}/invitation", protect: true, tags: ["users"], summary: "A new invitation link for a user who has not set a password" } })
    .input(UserIdInput)
    .output(InvitedUserDto)
    .mutation(({ ctx, input }) => reinviteUser(ctx.db, input.id)),

  setRole: adminProcedure
    .meta({ openapi: { method: "PUT", path: "/users/{id}/role", protect: true, tags: ["users"], summary: "Change a user's role" } })
    .input(SetRoleInput)
    .output(UserDto)
    .mutation(({ ctx, input }) => setRole(ctx.db, input)),

  setDisabled: adminProcedure
    .meta({ openapi: { method: "PUT", path: "/users/{id}/disabled", protect: true, tags: ["users"], summary: "Disable or re-enable a user" } })
    .input(SetDisabledInput)
    .output(UserDto)
    .mutation(({ ctx, input }) => setDisabled(ctx.db, ctx.principal!, input)),
});
