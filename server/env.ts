// Configuration, validated once. Every message names the variable and the problem,
// so a bad start prints one line an operator can act on.
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
// Plain JavaScript, shared with scripts/web-server.mjs (which runs without a build step).
import { trustedProxies } from "../scripts/client-address.mjs";
import { permittedNameProblem } from "./pki/names";
import { displayDatabaseUrl, isPostgresUrl, resolveDataDir, resolveDatabaseUrl, validPostgresUrl } from "./database-url";

export class ConfigError extends Error {
  override name = "ConfigError";
}

const port = (fallback: number) =>
  z.coerce.number({ error: "must be a number" }).int("must be a whole number").min(1, "must be between 1 and 65535").max(65535, "must be between 1 and 65535").default(fallback);

const positiveInt = (fallback: number, max: number) =>
  z.coerce.number({ error: "must be a number" }).int("must be a whole number").min(1, "must be at least 1").max(max, `must be at most ${max}`).default(fallback);

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("production"),
  PORT: port(3000),
  BIND_ADDRESS: z.string().min(1).default("127.0.0.1"),
  DATA_DIR: z.string().min(1),
  DATABASE_URL: z
    .string()
    .refine(
      (u) => u.startsWith("file:") || (isPostgresUrl(u) && validPostgresUrl(u)),
      "must be a SQLite URL such as file:/var/lib/rampart/rampart.db or a PostgreSQL URL such as postgresql://rampart:secret@db.example:5432/rampart",
    ),
  REDIS_URL: z
    .string()
    .refine((u) => /^rediss?:\/\//.test(u), "must start with redis:// or rediss://")
    .refine((u) => {
      try {
        new URL(u);
        return true;
      } catch {
        return false;
      }
    }, "is not a valid URL"),
  REDIS_PORT: port(6390),
  /** What npm start runs here: the console and a worker (all), or only one of them (several machines). */
  RAMPART_PROCESSES: z.enum(["all", "console", "worker"], { error: "must be all, console or worker" }).default("all"),
  WORKER_CONCURRENCY: positiveInt(4, 64),
  WORKER_SHUTDOWN_TIMEOUT_MS: positiveInt(30_000, 600_000),
  DISK_MIN_FREE_MB: positiveInt(1024, 10_000_000),
  /** Seconds between drift checks of every topology; 0 turns them off. */
  DRIFT_CHECK_INTERVAL_S: z.coerce
    .number({ error: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .refine((n) => n === 0 || (n >= 10 && n <= 7 * 24 * 3600), "must be 0 (off) or between 10 and 604800 seconds")
    .default(3600),
  /** Seconds between looks at every certificate (renewal starts an apply when one is due). */
  RENEWAL_CHECK_INTERVAL_S: z.coerce
    .number({ error: "must be a number of seconds" })
    .int("must be a whole number of seconds")
    .min(10, "must be between 10 and 86400 seconds")
    .max(86_400, "must be between 10 and 86400 seconds")
    .default(3600),
  /** An existing Prometheus (and its Alertmanager) instead of the embedded ones npm start runs. */
  PROMETHEUS_URL: z.string().url("must be a URL such as http://127.0.0.1:9090").optional(),
  ALERTMANAGER_URL: z.string().url("must be a URL such as http://127.0.0.1:9093").optional(),
  /** Loopback ports of the embedded Prometheus and Alertmanager. */
  PROMETHEUS_PORT: port(9390),
  ALERTMANAGER_PORT: port(9393),
  /** The operator's webhooks: the embedded Alertmanager sends every alert (and its resolution) there too. */
  ALERT_WEBHOOK_URLS: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? "")
        .split(",")
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/, error: "must be http:// or https:// URLs separated by commas" }))),
  /** A failed ACME renewal is retried after this many seconds, doubling with each failure in a row (with jitter) up to ACME_RETRY_MAX_S. */
  ACME_RETRY_BASE_S: positiveInt(300, 86_400),
  ACME_RETRY_MAX_S: positiveInt(6 * 3600, 7 * 86_400),
  /** Days a finished run keeps its events (log lines) and plan; 0 keeps them forever. Its outcome and the audit trail stay. */
  RUN_RETENTION_DAYS: z.coerce
    .number({ error: "must be a number of days" })
    .int("must be a whole number of days")
    .min(0, "must be 0 (keep forever) or between 1 and 36500 days")
    .max(36_500, "must be 0 (keep forever) or between 1 and 36500 days")
    .default(90),
  /** Days an audit entry stays in the database before it moves to a file in DATA_DIR/audit-archive; 0 keeps every entry in the database. */
  AUDIT_RETENTION_DAYS: z.coerce
    .number({ error: "must be a number of days" })
    .int("must be a whole number of days")
    .min(0, "must be 0 (keep in the database) or between 1 and 36500 days")
    .max(36_500, "must be 0 (keep in the database) or between 1 and 36500 days")
    .default(365),
  /** Seconds after a promotion of a topology's database before another is allowed (0: no cool-down). */
  PROMOTION_COOLDOWN_S: z.coerce.number({ error: "must be a number of seconds" }).int("must be a whole number").min(0, "must be 0 or more").max(86_400, "must be at most 86400").default(600),
  /** Hosts one run observes, changes or checks at once (a rollout batch larger than this waits its turn). */
  HOST_PARALLELISM: positiveInt(20, 1000),
  /** Seconds a server waits, after loading new firewall rules, for Rampart to get in over a new connection before it restores the previous rules. */
  FIREWALL_CONFIRM_WINDOW_S: z.coerce.number({ error: "must be a number" }).int("must be a whole number").min(10, "must be at least 10").max(3600, "must be at most 3600").default(60),
  /** Tests only: the worker waits this long between loading firewall rules and confirming them (to be killed there). */
  RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(0),
  /** Tests only: "<phase>:<ms>": an operation waits this long once that phase's work is done, before recording it done (to be killed there). */
  RAMPART_TEST_OPERATION_PAUSE: z
    .string()
    .regex(/^[a-z ]+:\d+$/, 'must be "<phase name>:<milliseconds>"')
    .optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  PUBLIC_URL: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL such as https://rampart.example.com" })
    .transform((u) => u.replace(/\/+$/, ""))
    .optional(),
  ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .refine((list) => list.every((o) => /^https?:\/\/[^/]+$/.test(o)), "must be a comma-separated list of origins such as https://rampart.example.com"),
  /** DNS suffixes and IP networks the internal CA may issue for (a critical name-constraints extension, set when the CA is created); empty: no constraint. */
  INTERNAL_CA_PERMITTED_NAMES: z
    .string()
    .default("")
    .transform((s) =>
      s
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean),
    )
    .superRefine((list, ctx) => {
      for (const entry of list) {
        const problem = permittedNameProblem(entry);
        if (problem) ctx.addIssue({ code: "custom", message: `${problem} (a comma-separated list of DNS suffixes such as example.com and networks such as 10.0.0.0/8)` });
      }
    }),
  /** false, true (a proxy on this machine), or the reverse proxies' addresses/CIDRs whose X-Forwarded-For is believed. */
  TRUST_PROXY: z
    .string()
    .default("false")
    .refine((v) => {
      try {
        trustedProxies(v);
        return true;
      } catch {
        return false;
      }
    }, "must be false, true (a proxy on this machine) or a comma-separated list of the proxies' addresses or CIDRs, such as 10.0.0.5,10.0.1.0/24"),
  LOGIN_MAX_DELAY_MS: positiveInt(30_000, 3_600_000),
  RAMPART_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v.trim(), "base64").length === 32, "must be 32 random bytes in base64 (openssl rand -base64 32)")
    .optional(),
});

export type Env = z.infer<typeof EnvSchema>;

/** Every variable Rampart reads (documented in .env.example). */
export const ENV_VARIABLES = EnvSchema.keyof().options;

/**
 * The URL of the Redis that npm start runs itself (REDIS_URL empty): on 127.0.0.1,
 * with the password it generated in DATA_DIR/redis/password (readable by root only).
 */
export function embeddedRedisUrl(dataDir: string, port: string | number): string {
  try {
    const password = readFileSync(path.join(dataDir, "redis", "password"), "utf8").trim();
    if (password) return `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  } catch {
    /* not started yet: no password so far */
  }
  return `redis://127.0.0.1:${port}`;
}

/** Parses a process environment. Throws ConfigError with a one-line message. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const blankToUndefined = (v: string | undefined) => (v === undefined || v.trim() === "" ? undefined : v);
  const redisPort = blankToUndefined(source.REDIS_PORT) ?? "6390";
  const input = {
    NODE_ENV: blankToUndefined(source.NODE_ENV),
    PORT: blankToUndefined(source.PORT),
    BIND_ADDRESS: blankToUndefined(source.BIND_ADDRESS),
    DATA_DIR: resolveDataDir(source),
    DATABASE_URL: resolveDatabaseUrl(source),
    REDIS_URL: blankToUndefined(source.REDIS_URL) ?? embeddedRedisUrl(resolveDataDir(source), redisPort),
    REDIS_PORT: redisPort,
    RAMPART_PROCESSES: blankToUndefined(source.RAMPART_PROCESSES),
    WORKER_CONCURRENCY: blankToUndefined(source.WORKER_CONCURRENCY),
    WORKER_SHUTDOWN_TIMEOUT_MS: blankToUndefined(source.WORKER_SHUTDOWN_TIMEOUT_MS),
    DISK_MIN_FREE_MB: blankToUndefined(source.DISK_MIN_FREE_MB),
    DRIFT_CHECK_INTERVAL_S: blankToUndefined(source.DRIFT_CHECK_INTERVAL_S),
    RENEWAL_CHECK_INTERVAL_S: blankToUndefined(source.RENEWAL_CHECK_INTERVAL_S),
    PROMETHEUS_URL: blankToUndefined(source.PROMETHEUS_URL),
    ALERTMANAGER_URL: blankToUndefined(source.ALERTMANAGER_URL),
    PROMETHEUS_PORT: blankToUndefined(source.PROMETHEUS_PORT),
    ALERTMANAGER_PORT: blankToUndefined(source.ALERTMANAGER_PORT),
    ALERT_WEBHOOK_URLS: blankToUndefined(source.ALERT_WEBHOOK_URLS),
    ACME_RETRY_BASE_S: blankToUndefined(source.ACME_RETRY_BASE_S),
    ACME_RETRY_MAX_S: blankToUndefined(source.ACME_RETRY_MAX_S),
    RUN_RETENTION_DAYS: blankToUndefined(source.RUN_RETENTION_DAYS),
    AUDIT_RETENTION_DAYS: blankToUndefined(source.AUDIT_RETENTION_DAYS),
    HOST_PARALLELISM: blankToUndefined(source.HOST_PARALLELISM),
    PROMOTION_COOLDOWN_S: blankToUndefined(source.PROMOTION_COOLDOWN_S),
    FIREWALL_CONFIRM_WINDOW_S: blankToUndefined(source.FIREWALL_CONFIRM_WINDOW_S),
    RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS: blankToUndefined(source.RAMPART_TEST_FIREWALL_CONFIRM_DELAY_MS),
    RAMPART_TEST_OPERATION_PAUSE: blankToUndefined(source.RAMPART_TEST_OPERATION_PAUSE),
    LOG_LEVEL: blankToUndefined(source.LOG_LEVEL),
    PUBLIC_URL: blankToUndefined(source.PUBLIC_URL),
    ALLOWED_ORIGINS: blankToUndefined(source.ALLOWED_ORIGINS),
    INTERNAL_CA_PERMITTED_NAMES: blankToUndefined(source.INTERNAL_CA_PERMITTED_NAMES),
    TRUST_PROXY: blankToUndefined(source.TRUST_PROXY),
    LOGIN_MAX_DELAY_MS: blankToUndefined(source.LOGIN_MAX_DELAY_MS),
    RAMPART_MASTER_KEY: blankToUndefined(source.RAMPART_MASTER_KEY),
  };
  const parsed = EnvSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      const raw = name === "RAMPART_MASTER_KEY" ? undefined : (input as Record<string, unknown>)[name];
      // A database URL may carry a password: never echo it.
      const got = name === "DATABASE_URL" && typeof raw === "string" ? displayDatabaseUrl(raw) : raw;
      return `${name} ${issue.message}${got === undefined ? "" : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  // A console alone or a worker alone only makes sense next to the others: they meet in one Redis.
  if (parsed.data.RAMPART_PROCESSES !== "all" && !blankToUndefined(source.REDIS_URL))
    throw new ConfigError(`Invalid configuration: RAMPART_PROCESSES=${parsed.data.RAMPART_PROCESSES} needs REDIS_URL, the Redis the console and every worker share`);
  return parsed.data;
}

let cached: Env | undefined;
/** The process's configuration, parsed on first use. */
export function env(): Env {
  cached ??= loadEnv();
  return cached;
}
