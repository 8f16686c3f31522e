// API tokens: your own (admins: anyone's).
import { z } from "zod";
import { router, readProcedure } from "../trpc";
import { CreateTokenInput, CreatedTokenDto, TokenDto, TokenIdInput, TokenListInput } from "../../schemas/auth";
import { createToken, listTokens, revokeToken } from "../../services/tokens";

export const tokensRouter = router({
  list: readProcedure
    .meta({ openapi: { method: "GET", path: "/tokens", protect: true, tags: ["tokens"], summary: "List your API tokens (admins: all=true for everyone's)" } })
    .input(TokenListInput)
    .output(z.array(TokenDto))
    .query(({ ctx, input }) => listTokens(ctx.db, ctx.principal!, input.all)),

  create: readProcedure
    .meta({ openapi: { method: "POST", path: "/tokens", protect: true, tags: ["tokens"], summary: "Create an API token (the token is in this response only)" } })
    .input(CreateTokenInput)
    .output(CreatedTokenDto)
    .mutation(({ ctx, input }) => createToken(ctx.db, ctx.principal!, input)),

  revoke: readProcedure
    .meta({ openapi: { method: "DELETE", path: "/tokens/{id}", protect: true, tags: ["tokens"], summary: "Revoke an API token" } })
    .input(TokenIdInput)
    .output(TokenDto)
    .mutation(({ ctx, input }) => revokeToken(ctx.db, ctx.principal!, input.id)),
});
