// Random secrets (session cookies, API tokens, one-time links) and their stored
// form. They carry 256 bits of entropy, so a SHA-256 digest is a safe thing to store.
import { createHash, randomBytes } from "node:crypto";

export const API_TOKEN_PREFIX = "rp_";

export function newSecret(prefix = ""): string {
  return prefix + randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** What lists show of an API token: enough to recognise it, useless to use it. */
export function tokenDisplayPrefix(token: string): string {
  return token.slice(0, API_TOKEN_PREFIX.length + 8);
}
