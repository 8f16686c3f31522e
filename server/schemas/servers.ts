// Servers and SSH keys: shared by the console's forms, the routers and the worker.
import { z } from "zod";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*\.?$/;

function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(":")) return false;
  try {
    return new URL(`http://[${s}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

export const ServerName = z
  .string()
  .trim()
  .min(1, "is required")
  .max(63, "must be at most 63 characters")
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, "may use lower-case letters, digits and dashes, and must start and end with a letter or digit");

export const ServerAddress = z
  .string()
  .trim()
  .min(1, "is required")
  .max(253, "must be at most 253 characters")
  .refine((a) => IPV4.test(a) || isIPv6(a) || (HOSTNAME.test(a) && !/^[\d.]+$/.test(a)), "must be an IPv4 or IPv6 address or a host name, such as 10.0.0.5 or web1.example.com");

export const ServerPort = z.number({ error: "must be a number" }).int("must be a whole number").min(1, "must be between 1 and 65535").max(65535, "must be between 1 and 65535");

export const LoginUser = z
  .string()
  .trim()
  .min(1, "is required")
  .max(32, "must be at most 32 characters")
  .regex(/^[a-z_][a-z0-9_-]*$/, "must be a Unix user name such as root or deploy");

export const Labels = z
  .array(
    z
      .string()
      .trim()
      .min(1)
      .max(40, "each label must be at most 40 characters")
      .regex(/^[\w.:/-]+$/, "labels may use letters, digits and . _ : / -"),
  )
  .max(20, "at most 20 labels");

export const ServerInput = z.object({
  name: ServerName,
  address: ServerAddress,
  port: ServerPort.default(22),
  user: LoginUser.default("root"),
  sshKeyId: z.string().min(1, "choose an SSH key"),
  labels: Labels.default([]),
});
export const UpdateServerInput = ServerInput.extend({ id: z.string().min(1) });
export const ServerIdInput = z.object({ id: z.string().min(1).max(64) });
export const AcceptHostKeyInput = z.object({
  id: z.string().min(1).max(64),
  /** The fingerprint the operator saw and accepts; refused if the server has presented another since. */
  fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, "must be a SHA256 fingerprint as shown"),
});
export const PinHostKeyInput = z.object({ id: z.string().min(1).max(64), knownHostsLine: z.string().trim().min(1, "is required").max(16_384) });
export const CheckServersInput = z.object({ ids: z.array(z.string().min(1)).min(1, "choose at least one server").max(1000) });

export const SshKeyName = z.string().trim().min(1, "is required").max(64, "must be at most 64 characters");
export const GenerateKeyInput = z.object({ name: SshKeyName });
export const ImportKeyInput = z.object({
  name: SshKeyName,
  privateKey: z.string().min(1, "is required").max(20_000, "is too long for an SSH private key"),
  passphrase: z.string().max(1024).optional(),
});
export const SshKeyIdInput = z.object({ id: z.string().min(1).max(64) });

// Outputs.
export const FactsDto = z.object({
  os: z.object({ id: z.string(), version: z.string(), pretty: z.string() }),
  kernel: z.string(),
  cpus: z.number(),
  memoryBytes: z.number(),
  disk: z.object({ totalBytes: z.number(), freeBytes: z.number() }),
  systemd: z.string(),
  packages: z.record(z.string(), z.string().nullable()),
});
export type Facts = z.infer<typeof FactsDto>;

export const SshKeyDto = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  publicKey: z.string(),
  fingerprint: z.string(),
  hasPassphrase: z.boolean(),
  createdAt: z.date(),
  createdBy: z.string(),
  servers: z.number(),
  /** The one line to run on a server to let this key in as root. */
  installCommand: z.string(),
});

export const HOST_KEY_STATUSES = ["unknown", "pending", "pinned", "mismatch"] as const;
export const ServerDto = z.object({
  id: z.string(),
  name: z.string(),
  address: z.string(),
  port: z.number(),
  user: z.string(),
  sshKeyId: z.string(),
  sshKeyName: z.string(),
  labels: z.array(z.string()),
  hostKeyStatus: z.enum(HOST_KEY_STATUSES),
  hostKeyFingerprint: z.string().nullable(),
  presentedFingerprint: z.string().nullable(),
  presentedAt: z.date().nullable(),
  facts: FactsDto.nullable(),
  factsAt: z.date().nullable(),
  lastCheckAt: z.date().nullable(),
  lastCheckError: z.string().nullable(),
  createdAt: z.date(),
  busy: z.boolean(),
});
