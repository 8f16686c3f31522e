// Certificates: the internal CA, site certificates (upload or issue), backends' certificates.
import { z } from "zod";
import { router, readProcedure, operateProcedure } from "../trpc";
import { CaCertificateDto, CertificateDto, CertificatesDto, IssueSiteCertInput, UploadSiteCertInput } from "../../schemas/certificates";
import { caCertificate, issueSiteCertificate, listCertificates, uploadSiteCertificate } from "../../services/certificates";
import { principalLabel } from "../../auth/principal";
import { secretBox } from "../../secrets/master-key";
import { env } from "../../env";

export const certificatesRouter = router({
  list: readProcedure
    .meta({ openapi: { method: "GET", path: "/certificates", protect: true, tags: ["certificates"], summary: "The internal CA and every certificate in use (never a private key)" } })
    .input(z.void())
    .output(CertificatesDto)
    .query(({ ctx }) => listCertificates(ctx.db)),

  ca: readProcedure
    .meta({ openapi: { method: "GET", path: "/certificates/ca", protect: true, tags: ["certificates"], summary: "The internal CA's certificate (PEM), e.g. for curl --cacert" } })
    .input(z.void())
    .output(CaCertificateDto)
    .query(({ ctx }) => caCertificate(ctx.db, secretBox(env()))),

  uploadSite: operateProcedure
    .meta({
      openapi: { method: "POST", path: "/certificates/site", protect: true, tags: ["certificates"], summary: "Upload a site's certificate chain and key (validated; deployed by the next apply)" },
    })
    .input(UploadSiteCertInput)
    .output(CertificateDto)
    .mutation(({ ctx, input }) => uploadSiteCertificate(ctx.db, secretBox(env()), { name: principalLabel(ctx.principal!) }, input)),

  issueSite: operateProcedure
    .meta({ openapi: { method: "POST", path: "/certificates/site/issue", protect: true, tags: ["certificates"], summary: "Issue a site certificate from the internal CA (private sites, tests)" } })
    .input(IssueSiteCertInput)
    .output(CertificateDto)
    .mutation(({ ctx, input }) => issueSiteCertificate(ctx.db, secretBox(env()), { name: principalLabel(ctx.principal!) }, input.topologyId)),
});
