// Certificate schemas shared by the console's forms, the routers and the REST API.
import { z } from "zod";
import { SiteAcmeDto } from "./acme";

export const UploadSiteCertInput = z.object({
  topologyId: z.string().min(1, "choose a site"),
  certificatePem: z.string().trim().min(1, "paste the certificate chain (PEM), the site's certificate first").max(100_000, "is too long for a certificate chain"),
  privateKeyPem: z.string().trim().min(1, "paste the private key (PEM)").max(20_000, "is too long for a private key"),
});
export const IssueSiteCertInput = z.object({ topologyId: z.string().min(1) });

export const CertificateDto = z.object({
  id: z.string(),
  /** collector: Rampart's client certificate for scraping the exporters. */
  purpose: z.enum(["site", "backend", "collector"]),
  source: z.enum(["internal", "uploaded", "acme"]),
  topologyId: z.string().nullable(),
  serverId: z.string().nullable(),
  names: z.array(z.string()),
  fingerprint: z.string(),
  issuer: z.string(),
  notBefore: z.date(),
  notAfter: z.date(),
  createdAt: z.date(),
  createdBy: z.string(),
  certPem: z.string(),
  chainPem: z.string(),
});
/** What a host served on a TLS port when Rampart last checked (after an apply, in the drift check). */
export const ServedCertificateDto = z.object({
  serverId: z.string(),
  serverName: z.string(),
  port: z.number(),
  topologyId: z.string(),
  /** site: a load balancer's HTTPS; backend: a web or app server's TLS port. */
  purpose: z.enum(["site", "backend"]),
  /** null: no certificate came back. */
  fingerprint: z.string().nullable(),
  /** It is the certificate Rampart deployed there. */
  matches: z.boolean(),
  checkedAt: z.date(),
});
export type ServedCertificateDto = z.infer<typeof ServedCertificateDto>;

export const CertificatesDto = z.object({
  ca: z.object({ certPem: z.string(), fingerprint: z.string(), notBefore: z.date(), notAfter: z.date() }).nullable(),
  certificates: z.array(CertificateDto),
  /** Sites that get their certificate from ACME, with their renewal state. */
  acme: z.array(SiteAcmeDto),
  /** Expired or expiring certificates in use, and failing renewals. */
  alerts: z.array(
    z.object({
      kind: z.enum(["expired", "expiring", "renewal-failing"]),
      certificateId: z.string().nullable(),
      topologyId: z.string().nullable(),
      serverId: z.string().nullable(),
      message: z.string(),
    }),
  ),
  served: z.array(ServedCertificateDto),
});
export const CaCertificateDto = z.object({ certPem: z.string(), fingerprint: z.string() });
