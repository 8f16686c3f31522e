// Talking to an ACME certificate authority (RFC 8555) with acme-client: accounts,
// orders answered over HTTP-01 by the load balancers, ACME Renewal Information
// (RFC 9773), revocation. No storage here: the service (server/services/acme.ts)
// keeps accounts and certificates, this file only speaks the protocol.
import { createHash, createPublicKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { AsyncLocalStorage } from "node:async_hooks";
import * as acme from "acme-client";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

/** The HTTP-01 path the load balancers answer (RFC 8555 §8.3). */
export const CHALLENGE_PATH = "/.well-known/acme-challenge/";

export type AcmeKeyType = "ecdsa-p256" | "rsa-2048";

// acme-client has one HTTP client for the process. It is set up once, here:
// - a private ACME server's own HTTPS certificate is trusted per origin (the
//   account's trustPem), never globally;
// - no retries inside a run: acme-client would wait out a Retry-After (hours, for a
//   rate limit) or retry a dead server for over a minute. A failed attempt ends, and
//   the renewal scheduler retries with its backoff, never sooner than the CA's
//   Retry-After (caught here, per order, with AsyncLocalStorage);
// - a CA that stops answering fails the attempt after 30 s instead of hanging it.
const trusted = new Map<string, Agent>();
const attemptContext = new AsyncLocalStorage<{ retryAfterS: number | null }>();
let configured = false;

function configureHttp(): void {
  if (configured) return;
  configured = true;
  (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number } }).acmeSettings.retryMaxAttempts = 0;
  // A network error (no answer) goes straight to the caller with its code; acme-client's own
  // handler expects an answer and would turn it into a TypeError.
  const handlers = (acme.axios.interceptors.response as unknown as { handlers: Array<{ rejected?: ((e: unknown) => unknown) | null } | null> }).handlers;
  for (const h of handlers) {
    const original = h?.rejected;
    if (h && original) h.rejected = (e) => ((e as { response?: unknown }).response ? original(e) : Promise.reject(e));
  }
  acme.axios.interceptors.request.use((config) => {
    const origin = config.url ? safeOrigin(config.url) : null;
    const agent = origin ? trusted.get(origin) : undefined;
    if (agent) config.httpsAgent = agent;
    if (!config.timeout) config.timeout = 30_000;
    return config;
  });
  acme.axios.interceptors.response.use((resp) => {
    const ctx = attemptContext.getStore();
    if (ctx && (resp.status === 429 || resp.status === 503)) {
      const header = resp.headers["retry-after"];
      ctx.retryAfterS = parseRetryAfter(typeof header === "string" ? header : null) ?? ctx.retryAfterS;
    }
    return resp;
  });
}

function trustOrigin(directoryUrl: string, trustPem: string): void {
  configureHttp();
  const origin = safeOrigin(directoryUrl);
  if (!origin) return;
  if (trustPem.trim()) trusted.set(origin, new Agent({ ca: trustPem, keepAlive: true }));
  else trusted.delete(origin);
}

/** An error of an order, with the Retry-After the CA sent with it (if any). */
export class AcmeAttemptError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly retryAfterS: number | null,
  ) {
    super(problemOf(cause));
  }
}

const safeOrigin = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
};

/** A new account key: ECDSA P-256 (ES256), PEM. */
export function newAccountKey(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** The RFC 7638 thumbprint of an account key (base64url SHA-256 of its canonical JWK). */
export function thumbprintOf(accountKeyPem: string): string {
  const jwk = createPublicKey(accountKeyPem).export({ format: "jwk" }) as Record<string, string>;
  const members = jwk.kty === "EC" ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { e: jwk.e, kty: jwk.kty, n: jwk.n };
  return createHash("sha256").update(JSON.stringify(members)).digest("base64url");
}

/** The key authorization a load balancer answers for a token (RFC 8555 §8.1). */
export const keyAuthorization = (token: string, thumbprint: string) => `${token}.${thumbprint}`;

export interface AcmeServer {
  directoryUrl: string;
  /** PEM of the CA behind the ACME server's HTTPS certificate ("" = the system's). */
  trustPem: string;
}

export interface DirectoryInfo {
  termsOfService: string | null;
  website: string | null;
  externalAccountRequired: boolean;
  /** The CA offers ACME Renewal Information. */
  renewalInfo: boolean;
}

interface RawDirectory {
  renewalInfo?: string;
  meta?: { termsOfService?: string; website?: string; externalAccountRequired?: boolean };
}

type HttpInternals = { http: { getDirectory(): Promise<RawDirectory> } };

function clientFor(server: AcmeServer, accountKeyPem: string, accountUrl?: string, eab?: { kid: string; hmacKey: string }) {
  trustOrigin(server.directoryUrl, server.trustPem);
  return new acme.Client({
    directoryUrl: server.directoryUrl,
    accountKey: accountKeyPem,
    ...(accountUrl ? { accountUrl } : {}),
    ...(eab ? { externalAccountBinding: eab } : {}),
    // Status polling: a few seconds apart, up to about a minute and a half in all.
    backoffAttempts: 10,
    backoffMin: 1000,
    backoffMax: 10_000,
  });
}

const directoryOf = (client: acme.Client) => (client as unknown as HttpInternals).http.getDirectory();

/** What the CA's directory says (terms, whether it wants External Account Binding, ARI). */
export async function readDirectory(server: AcmeServer): Promise<DirectoryInfo> {
  const dir = await directoryOf(clientFor(server, newAccountKey()));
  return {
    termsOfService: dir.meta?.termsOfService ?? null,
    website: dir.meta?.website ?? null,
    externalAccountRequired: dir.meta?.externalAccountRequired === true,
    renewalInfo: typeof dir.renewalInfo === "string",
  };
}

/** Registers a new account (terms accepted by the caller); returns its URL. */
export async function registerAccount(server: AcmeServer, accountKeyPem: string, contact: string[], eab?: { kid: string; hmacKey: string }): Promise<string> {
  const client = clientFor(server, accountKeyPem, undefined, eab);
  await client.createAccount({ termsOfServiceAgreed: true, contact });
  return client.getAccountUrl();
}

export interface AcmeAccountRef extends AcmeServer {
  accountKeyPem: string;
  accountUrl: string;
}

export interface OrderProgress {
  (line: string): Promise<void> | void;
}

export interface IssuedChain {
  /** The certificate followed by its chain (PEM), as the CA sent it. */
  fullchainPem: string;
  keyPem: string;
}

async function certificateKey(keyType: AcmeKeyType): Promise<Buffer> {
  return keyType === "rsa-2048" ? acme.crypto.createPrivateRsaKey(2048) : acme.crypto.createPrivateEcdsaKey("P-256");
}

/**
 * Orders a certificate for `names` and answers its HTTP-01 challenges through the
 * load balancers (which answer any token with the account's thumbprint: nothing is
 * put on a host for an order). `replaces`: the ARI id of the certificate this one
 * renews, sent only when the CA offers ARI.
 */
export async function orderCertificate(
  account: AcmeAccountRef & { contact: string[] },
  opts: {
    names: string[];
    keyType: AcmeKeyType;
    replaces?: string | null;
    signal: AbortSignal;
    progress: OrderProgress;
    /** Called when the CA no longer knew the account and it was registered again (same key, new URL). */
    onAccountUrl?: (url: string) => Promise<void>;
  },
): Promise<IssuedChain> {
  const ctx = { retryAfterS: null as number | null };
  try {
    return await attemptContext.run(ctx, () => order(account, opts));
  } catch (err) {
    throw new AcmeAttemptError(err, ctx.retryAfterS);
  }
}

async function order(account: AcmeAccountRef & { contact: string[] }, opts: Parameters<typeof orderCertificate>[1]): Promise<IssuedChain> {
  let client = clientFor(account, account.accountKeyPem, account.accountUrl);
  const dir = await directoryOf(client);
  // The CA must still know the account (a private CA may have been reset): look it up by its key,
  // and register it again with the same key (terms accepted when it was made) if it is gone.
  try {
    const lookup = clientFor(account, account.accountKeyPem) as unknown as { api: { createAccount(d: object): Promise<unknown> } };
    await lookup.api.createAccount({ onlyReturnExisting: true });
  } catch (err) {
    // A network problem is the attempt's failure; an answer of the CA's (accountDoesNotExist) is not.
    if ((err as { isAxiosError?: boolean }).isAxiosError || typeof (err as { code?: unknown }).code === "string") throw err;
    await opts.progress(`the CA no longer knows the account (${problemOf(err)}): registering it again with the same key`);
    const url = await registerAccount(account, account.accountKeyPem, account.contact);
    await opts.onAccountUrl?.(url);
    client = clientFor(account, account.accountKeyPem, url);
  }
  const replaces = opts.replaces && dir.renewalInfo ? { replaces: opts.replaces } : {};
  const order = await client.createOrder({ identifiers: opts.names.map((value) => ({ type: "dns", value })), ...replaces });
  await opts.progress(`order ${order.url} for ${opts.names.join(", ")}${"replaces" in replaces ? ` (replaces ${opts.replaces})` : ""}`);
  const authorizations = await client.getAuthorizations(order);
  for (const authz of authorizations) {
    opts.signal.throwIfAborted();
    const name = authz.identifier.value;
    if (authz.status === "valid") {
      await opts.progress(`${name}: already authorized`);
      continue;
    }
    const challenge = authz.challenges.find((c) => c.type === "http-01");
    if (!challenge) throw new Error(`the CA offers no HTTP-01 challenge for ${name} (offered: ${authz.challenges.map((c) => c.type).join(", ") || "none"})`);
    await opts.progress(`${name}: asking the CA to fetch http://${name}${CHALLENGE_PATH}${challenge.token}`);
    await client.completeChallenge(challenge);
    try {
      await client.waitForValidStatus(challenge);
    } catch (err) {
      throw new Error(`${name}: the CA could not validate the HTTP-01 challenge: ${problemOf(err)}`);
    }
    await opts.progress(`${name}: validated`);
  }
  opts.signal.throwIfAborted();
  const key = await certificateKey(opts.keyType);
  const [, csr] = await acme.crypto.createCsr({ commonName: opts.names[0], altNames: opts.names }, key);
  const finalized = await client.finalizeOrder(order, csr);
  const fullchainPem = await client.getCertificate(finalized);
  await opts.progress(`issued (${opts.keyType})`);
  return { fullchainPem, keyPem: key.toString() };
}

/** Revokes a certificate with the account that ordered it (reason 4: superseded, unless given). */
export async function revokeCertificate(account: AcmeAccountRef, certPem: string, reason = 4): Promise<void> {
  await clientFor(account, account.accountKeyPem, account.accountUrl).revokeCertificate(certPem, { reason });
}

/** A readable reason from acme-client's errors (the CA's problem document when it sent one). */
export function problemOf(err: unknown): string {
  if (err instanceof AcmeAttemptError) return err.message;
  const e = err as { message?: string; code?: string };
  if (e?.code === "ECONNREFUSED" || e?.code === "ECONNRESET" || e?.code === "ETIMEDOUT" || e?.code === "EHOSTUNREACH") return `the ACME server did not answer (${e.code})`;
  if (e?.code === "ECONNABORTED") return "the ACME server did not answer within 30 s";
  if (e?.code && /CERT|UNABLE_TO_(VERIFY|GET)|SELF_SIGNED/.test(e.code)) return `the ACME server's HTTPS certificate is not trusted (${e.code}): give the CA that signs it`;
  return e?.message ?? String(err);
}

/** Seconds the CA asked us to wait (a Retry-After header on its answer), if it did. */
export const retryAfterOf = (err: unknown): number | null => (err instanceof AcmeAttemptError ? err.retryAfterS : null);

export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - now) / 1000));
}

// ---- ACME Renewal Information (RFC 9773)

const b64u = (hex: string) => Buffer.from(hex, "hex").toString("base64url");

/** A certificate's ARI id: base64url(authority key identifier) "." base64url(serial number's DER bytes). */
export function ariCertId(certPem: string): string {
  const cert = new x509.X509Certificate(certPem);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  if (!aki?.keyId) throw new Error("the certificate has no authority key identifier, so it has no ARI id");
  // The serial's DER content octets: a leading 00 when the high bit is set (as X509Certificate gives it, upper-case hex).
  let serial = new X509Certificate(certPem).serialNumber.toLowerCase();
  if (serial.length % 2) serial = `0${serial}`;
  if (parseInt(serial.slice(0, 2), 16) >= 0x80) serial = `00${serial}`;
  return `${b64u(aki.keyId)}.${b64u(serial)}`;
}

export interface RenewalWindow {
  start: Date;
  end: Date;
  /** When to ask again (the answer's Retry-After), in seconds. */
  retryAfterS: number | null;
}

/** Reads a renewalInfo answer: the suggested window, which must be a real interval. */
export function parseRenewalInfo(body: unknown, retryAfter: string | null, now = Date.now()): RenewalWindow {
  const w = (body as { suggestedWindow?: { start?: unknown; end?: unknown } })?.suggestedWindow;
  const start = typeof w?.start === "string" ? new Date(w.start) : null;
  const end = typeof w?.end === "string" ? new Date(w.end) : null;
  if (!start || !end || Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end < start) throw new Error("the CA's renewal information has no valid suggested window");
  return { start, end, retryAfterS: parseRetryAfter(retryAfter, now) };
}

/** The CA's suggested renewal window for a certificate, or null when the CA does not offer ARI. */
export async function renewalInfo(server: AcmeServer, certPem: string): Promise<RenewalWindow | null> {
  const client = clientFor(server, newAccountKey());
  const dir = await directoryOf(client);
  if (!dir.renewalInfo) return null;
  const resp = await acme.axios.get(`${dir.renewalInfo.replace(/\/$/, "")}/${ariCertId(certPem)}`, { validateStatus: () => true });
  if (resp.status !== 200) throw new Error(`the CA's renewal information answered HTTP ${resp.status}`);
  return parseRenewalInfo(resp.data, typeof resp.headers["retry-after"] === "string" ? resp.headers["retry-after"] : null);
}

/** A time picked uniformly inside the window (RFC 9773 §4.2), so that many clients do not renew at once. */
export const pickInWindow = (w: { start: Date; end: Date }, random = Math.random) => new Date(w.start.getTime() + random() * (w.end.getTime() - w.start.getTime()));
