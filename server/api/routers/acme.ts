// ACME: accounts with certificate authorities (admins), which sites get their
// certificate from one, and orders (operators). Never an account key.
import { z } from "zod";
import { router, readProcedure, operateProcedure, adminProcedure } from "../trpc";
import { AcmeAccountDto, AcmeDirectoryDto, AcmeDirectoryInput, CreateAcmeAccountInput, OrderCertificateInput, SetSiteAcmeInput, SiteAcmeDto } from "../../schemas/acme";
import { RunDto } from "../../schemas/run";
import { createAcmeAccount, deleteAcmeAccount, listAcmeAccounts, listAcmeSites, lookupDirectory, removeSiteAcme, setSiteAcme, startCertificateOrder } from "../../services/acme";
import { principalLabel } from "../../auth/principal";
import { secretBox } from "../../secrets/master-key";
import { runsQueue } from "../../queue/producer";
import { env } from "../../env";

export const acmeRouter = router({
  accounts: readProcedure
    .meta({ openapi: { method: "GET", path: "/acme/accounts", protect: true, tags: ["certificates"], summary: "ACME accounts (never their keys)" } })
    .input(z.void())
    .output(z.array(AcmeAccountDto))
    .query(({ ctx }) => listAcmeAccounts(ctx.db)),

  directory: adminProcedure
    .meta({ openapi: { method: "POST", path: "/acme/directory", protect: true, tags: ["certificates"], summary: "What a CA's ACME directory says (terms of service, External Account Binding, ARI)" } })
    .input(AcmeDirectoryInput)
    .output(AcmeDirectoryDto)
    .mutation(({ input }) => lookupDirectory(input)),

  createAccount: adminProcedure
    .meta({ openapi: { method: "POST", path: "/acme/accounts", protect: true, tags: ["certificates"], summary: "Register an account with an ACME CA (its terms accepted explicitly)" } })
    .input(CreateAcmeAccountInput)
    .output(AcmeAccountDto)
    .mutation(({ ctx, input }) => createAcmeAccount(ctx.db, secretBox(env()), { name: principalLabel(ctx.principal!) }, input)),

  deleteAccount: adminProcedure
    .meta({ openapi: { method: "DELETE", path: "/acme/accounts/{id}", protect: true, tags: ["certificates"], summary: "Forget an ACME account no site uses" } })
    .input(z.object({ id: z.string().min(1) }))
    .output(z.object({ id: z.string() }))
    .mutation(({ ctx, input }) => deleteAcmeAccount(ctx.db, input.id)),

  sites: readProcedure
    .meta({ openapi: { method: "GET", path: "/acme/sites", protect: true, tags: ["certificates"], summary: "Sites that get their certificate from ACME, with their renewal state" } })
    .input(z.void())
    .output(z.array(SiteAcmeDto))
    .query(({ ctx }) => listAcmeSites(ctx.db)),

  setSite: operateProcedure
    .meta({ openapi: { method: "PUT", path: "/acme/sites/{topologyId}", protect: true, tags: ["certificates"], summary: "Get a site's certificate from ACME (account, extra names, key type)" } })
    .input(SetSiteAcmeInput)
    .output(SiteAcmeDto)
    .mutation(({ ctx, input }) => setSiteAcme(ctx.db, input)),

  removeSite: operateProcedure
    .meta({
      openapi: { method: "DELETE", path: "/acme/sites/{topologyId}", protect: true, tags: ["certificates"], summary: "Stop getting a site's certificate from ACME (the current one keeps serving)" },
    })
    .input(z.object({ topologyId: z.string().min(1) }))
    .output(z.object({ topologyId: z.string() }))
    .mutation(({ ctx, input }) => removeSiteAcme(ctx.db, input.topologyId)),

  order: operateProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/acme/sites/{topologyId}/order",
        protect: true,
        tags: ["certificates"],
        summary: "Order the site's certificate now: reason order (first), renew, or replace (the old one revoked once the new one serves)",
      },
    })
    .input(OrderCertificateInput)
    .output(RunDto)
    .mutation(({ ctx, input }) => startCertificateOrder({ db: ctx.db, queue: runsQueue() }, { name: principalLabel(ctx.principal!) }, input)),
});
