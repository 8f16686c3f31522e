// Servers: inventory, host-key trust, and checks.
import { z } from "zod";
import { router, readProcedure, operateProcedure, adminProcedure } from "../trpc";
import { AcceptHostKeyInput, CheckServersInput, PinHostKeyInput, ServerDto, ServerIdInput, ServerInput, UpdateServerInput } from "../../schemas/servers";
import { RunDto } from "../../schemas/run";
import { acceptHostKey, checkServers, createServer, deleteServer, getServer, listServers, pinKnownHostKey, repinHostKey, updateServer } from "../../services/servers";
import { runsQueue } from "../../queue/producer";
import { principalLabel } from "../../auth/principal";

const PinnedDto = ServerDto.extend({ previousFingerprint: z.string().nullable() });

export const serversRouter = router({
  list: readProcedure
    .meta({ openapi: { method: "GET", path: "/servers", protect: true, tags: ["servers"], summary: "List servers with their host-key state and facts" } })
    .input(z.void())
    .output(z.array(ServerDto))
    .query(({ ctx }) => listServers(ctx.db)),

  get: readProcedure
    .meta({ openapi: { method: "GET", path: "/servers/{id}", protect: true, tags: ["servers"], summary: "One server" } })
    .input(ServerIdInput)
    .output(ServerDto)
    .query(({ ctx, input }) => getServer(ctx.db, input.id)),

  create: operateProcedure
    .meta({ openapi: { method: "POST", path: "/servers", protect: true, tags: ["servers"], summary: "Add a server" } })
    .input(ServerInput)
    .output(ServerDto)
    .mutation(({ ctx, input }) => createServer(ctx.db, input)),

  update: operateProcedure
    .meta({ openapi: { method: "PUT", path: "/servers/{id}", protect: true, tags: ["servers"], summary: "Change a server (a new address or port forgets its host key)" } })
    .input(UpdateServerInput)
    .output(ServerDto)
    .mutation(({ ctx, input }) => updateServer(ctx.db, input, ctx.principal!.rank >= 3)),

  delete: operateProcedure
    .meta({ openapi: { method: "DELETE", path: "/servers/{id}", protect: true, tags: ["servers"], summary: "Remove a server (refused while a run uses it)" } })
    .input(ServerIdInput)
    .output(ServerDto)
    .mutation(({ ctx, input }) => deleteServer(ctx.db, input.id)),

  acceptHostKey: operateProcedure
    .meta({ openapi: { method: "POST", path: "/servers/{id}/host-key/accept", protect: true, tags: ["servers"], summary: "Trust the host key a server presented on first contact" } })
    .input(AcceptHostKeyInput)
    .output(PinnedDto)
    .mutation(({ ctx, input }) => acceptHostKey(ctx.db, input)),

  repinHostKey: adminProcedure
    .meta({ openapi: { method: "POST", path: "/servers/{id}/host-key/repin", protect: true, tags: ["servers"], summary: "After a host-key change: trust the new key (admins)" } })
    .input(AcceptHostKeyInput)
    .output(PinnedDto)
    .mutation(({ ctx, input }) => repinHostKey(ctx.db, input)),

  pinHostKey: operateProcedure
    .meta({ openapi: { method: "POST", path: "/servers/{id}/host-key/pin", protect: true, tags: ["servers"], summary: "Pin a host key in advance from a known_hosts line" } })
    .input(PinHostKeyInput)
    .output(PinnedDto)
    .mutation(({ ctx, input }) => pinKnownHostKey(ctx.db, input, ctx.principal!.rank >= 3)),

  check: operateProcedure
    .meta({ openapi: { method: "POST", path: "/servers/check", protect: true, tags: ["servers"], summary: "Start a run that connects to servers and reads their facts" } })
    .input(CheckServersInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => checkServers(ctx.db, runsQueue(), { name: principalLabel(ctx.principal!) }, input.ids)),
});
