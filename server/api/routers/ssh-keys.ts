// SSH keys, for admins. Responses carry public keys and fingerprints only.
import { z } from "zod";
import { router, adminProcedure, readProcedure } from "../trpc";
import { GenerateKeyInput, ImportKeyInput, SshKeyDto, SshKeyIdInput } from "../../schemas/servers";
import { deleteKey, generateKey, importKey, listKeys } from "../../services/ssh-keys";
import { secretBox } from "../../secrets/master-key";
import { env } from "../../env";
import { principalLabel } from "../../auth/principal";

export const sshKeysRouter = router({
  list: readProcedure
    .meta({ openapi: { method: "GET", path: "/ssh-keys", protect: true, tags: ["ssh-keys"], summary: "SSH keys (public halves only)" } })
    .input(z.void())
    .output(z.array(SshKeyDto))
    .query(({ ctx }) => listKeys(ctx.db)),

  generate: adminProcedure
    .meta({ openapi: { method: "POST", path: "/ssh-keys/generate", protect: true, tags: ["ssh-keys"], summary: "Generate an ed25519 key pair" } })
    .input(GenerateKeyInput)
    .output(SshKeyDto)
    .mutation(({ ctx, input }) => generateKey(ctx.db, secretBox(env()), principalLabel(ctx.principal!), input)),

  import: adminProcedure
    .meta({ openapi: { method: "POST", path: "/ssh-keys/import", protect: true, tags: ["ssh-keys"], summary: "Import a private key (OpenSSH or PEM, optionally with a passphrase)" } })
    .input(ImportKeyInput)
    .output(SshKeyDto)
    .mutation(({ ctx, input }) => importKey(ctx.db, secretBox(env()), principalLabel(ctx.principal!), input)),

  delete: adminProcedure
    .meta({ openapi: { method: "DELETE", path: "/ssh-keys/{id}", protect: true, tags: ["ssh-keys"], summary: "Delete a key no server uses" } })
    .input(SshKeyIdInput)
    .output(SshKeyDto)
    .mutation(({ ctx, input }) => deleteKey(ctx.db, input.id)),
});
