// ACME schemas shared by the console's forms, the routers and the REST API.
import { z } from "zod";
import { SiteName } from "./topology";

export const ACME_DIRECTORIES = [
  { label: "Let's Encrypt", url: "https://acme-v02.api.letsencrypt.org/directory" },
  { label: "Let's Encrypt (staging)", url: "https://acme-staging-v02.api.letsencrypt.org/directory" },
  { label: "ZeroSSL", url: "https://acme.zerossl.com/v2/DV90" },
] as const;

const DirectoryUrl = z
  .string()
  .trim()
  .min(1, "give the CA's ACME directory URL")
  .max(2000, "is too long")
  .refine((s) => {
    try {
      return new URL(s).protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an https:// URL (the CA's ACME directory)");

const TrustPem = z
  .string()
  .trim()
  .max(50_000, "is too long for a CA certificate")
  .refine((s) => s === "" || /-----BEGIN CERTIFICATE-----/.test(s), "must be a CA certificate in PEM (-----BEGIN CERTIFICATE-----), or empty to use the system's CAs")
  .default("");

export const AcmeDirectoryInput = z.object({ directoryUrl: DirectoryUrl, trustPem: TrustPem });
export type AcmeDirectoryInput = z.input<typeof AcmeDirectoryInput>;

export const AcmeDirectoryDto = z.object({
  termsOfService: z.string().nullable(),
  website: z.string().nullable(),
  externalAccountRequired: z.boolean(),
  renewalInfo: z.boolean(),
});

export const CreateAcmeAccountInput = z.object({
  name: z.string().trim().min(1, "name the account").max(100, "at most 100 characters"),
  directoryUrl: DirectoryUrl,
  contact: z.array(z.string().trim().email("must be an e-mail address")).max(5, "at most 5 addresses").default([]),
  acceptTerms: z.literal(true, { error: "the CA's terms of service must be accepted to create an account" }),
  eab: z
    .object({
      kid: z.string().trim().min(1, "give the key id the CA gave you"),
      hmacKey: z
        .string()
        .trim()
        .min(1, "give the HMAC key the CA gave you")
        .regex(/^[A-Za-z0-9_-]+=*$/, "must be the base64url HMAC key the CA gave you"),
    })
    .nullable()
    .default(null),
  trustPem: TrustPem,
});
export type CreateAcmeAccountInput = z.input<typeof CreateAcmeAccountInput>;

export const AcmeAccountDto = z.object({
  id: z.string(),
  name: z.string(),
  directoryUrl: z.string(),
  contact: z.array(z.string()),
  accountUrl: z.string(),
  thumbprint: z.string(),
  termsUrl: z.string(),
  termsAgreedAt: z.date(),
  eabKeyId: z.string().nullable(),
  privateCa: z.boolean(),
  createdAt: z.date(),
  createdBy: z.string(),
  sites: z.array(z.object({ topologyId: z.string(), name: z.string() })),
});
export type AcmeAccountDto = z.infer<typeof AcmeAccountDto>;

export const AcmeKeyType = z.enum(["ecdsa-p256", "rsa-2048"]);

export const SetSiteAcmeInput = z.object({
  topologyId: z.string().min(1),
  accountId: z.string().min(1, "choose an ACME account"),
  extraNames: z.array(SiteName).max(50, "at most 50 extra names").default([]),
  keyType: AcmeKeyType.default("ecdsa-p256"),
});
export type SetSiteAcmeInput = z.input<typeof SetSiteAcmeInput>;

export const SiteAcmeDto = z.object({
  topologyId: z.string(),
  siteName: z.string(),
  accountId: z.string(),
  accountName: z.string(),
  extraNames: z.array(z.string()),
  keyType: AcmeKeyType,
  nextAttemptAt: z.date().nullable(),
  lastAttemptAt: z.date().nullable(),
  lastOutcome: z.enum(["succeeded", "failed"]).nullable(),
  lastError: z.string().nullable(),
  failures: z.number(),
  ariWindow: z.object({ start: z.date(), end: z.date() }).nullable(),
  lastRunId: z.string().nullable(),
});
export type SiteAcmeDto = z.infer<typeof SiteAcmeDto>;

export const OrderReason = z.enum(["order", "renew", "replace"]);
export const OrderCertificateInput = z.object({ topologyId: z.string().min(1), reason: OrderReason.default("order") });
