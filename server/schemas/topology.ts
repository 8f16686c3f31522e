// Topology schemas shared by the console's forms, the tRPC routers and the worker.
// No server-only imports here: this file is bundled into the browser.
import { z } from "zod";
import { ReachabilityDto } from "./reachability";

export const ROLES = ["load-balancer", "web", "app", "db-primary", "db-replica"] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;
/** What a host's plan, checks and diagram are made of: its roles, and the monitoring client. */
export const ModuleName = z.enum([...ROLES, "monitoring"]);
export type ModuleName = z.infer<typeof ModuleName>;

export const ROLE_LABELS: Record<Role, string> = {
  "load-balancer": "Load balancer",
  web: "Web",
  app: "App",
  "db-primary": "DB primary",
  "db-replica": "DB replica",
};

export const BALANCE_METHODS = ["roundrobin", "leastconn"] as const;
export const BalanceMethod = z.enum(BALANCE_METHODS);

// A DNS name: labels of letters, digits and hyphens, at least two labels.
const SITE_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const SiteName = z.string().trim().toLowerCase().min(1, "a site name is required").regex(SITE_NAME, "must be a DNS name such as www.example.com (letters, digits, hyphens and dots)");

export const TopologyMemberInput = z.object({
  serverId: z.string().min(1, "choose a server"),
  roles: z.array(Role).max(ROLES.length),
  /** The monitoring client, on every server unless turned off. */
  monitoring: z.boolean().default(true),
});
export type TopologyMemberInput = z.infer<typeof TopologyMemberInput>;

type Issue = { path: (string | number)[]; message: string };

/**
 * The rules a topology must follow, each naming the problem and where it is.
 * Pure, so the form shows the same errors the server would return.
 */
export function topologyProblems(members: readonly { serverId: string; roles: readonly Role[] }[]): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  members.forEach((m, i) => {
    const dup = seen.get(m.serverId);
    if (dup !== undefined) issues.push({ path: ["members", i, "serverId"], message: `this server is already listed (row ${dup + 1})` });
    else seen.set(m.serverId, i);
    if (m.roles.length === 0) issues.push({ path: ["members", i, "roles"], message: "give this server at least one role, or remove it" });
    if (new Set(m.roles).size !== m.roles.length) issues.push({ path: ["members", i, "roles"], message: "a role is listed twice" });
    if (m.roles.includes("db-primary") && m.roles.includes("db-replica"))
      issues.push({ path: ["members", i, "roles"], message: "a database replica cannot be its own primary: choose primary or replica" });
  });
  if (members.length === 0) issues.push({ path: ["members"], message: "add at least one server" });
  const count = (r: Role) => members.filter((m) => m.roles.includes(r)).length;
  const first = (r: Role) => members.findIndex((m) => m.roles.includes(r));
  if (count("load-balancer") > 0 && count("web") === 0) issues.push({ path: ["members", first("load-balancer"), "roles"], message: "the load balancer needs at least one web server behind it" });
  if (count("web") > 0 && count("load-balancer") === 0) issues.push({ path: ["members", first("web"), "roles"], message: "web servers need a load balancer in front of them" });
  if (count("app") > 0 && count("web") === 0) issues.push({ path: ["members", first("app"), "roles"], message: "app servers need a web server in front of them" });
  if (count("db-primary") > 1) {
    const second = members.findIndex((m, i) => i > first("db-primary") && m.roles.includes("db-primary"));
    issues.push({ path: ["members", second, "roles"], message: "there must be exactly one database primary" });
  }
  if (count("db-replica") > 0 && count("db-primary") === 0) issues.push({ path: ["members", first("db-replica"), "roles"], message: "a database replica needs a database primary to replicate from" });
  return issues;
}

const topologyFields = {
  name: SiteName,
  balance: BalanceMethod.default("roundrobin"),
  /** Rollout within a tier: one host first, then batches of this many hosts. */
  rolloutBatchSize: z.coerce.number({ error: "must be a number" }).int("must be a whole number").min(1, "must be at least 1").max(100, "must be at most 100").default(5),
  /** How many hosts may fail before a rollout stops (0: the first failure stops it). */
  failureBudget: z.coerce.number({ error: "must be a number" }).int("must be a whole number").min(0, "must be 0 or more").max(1000, "must be at most 1000").default(0),
  members: z.array(TopologyMemberInput).max(1000, "at most 1000 servers"),
};

function refineTopology(t: { members: { serverId: string; roles: Role[] }[] }, ctx: z.RefinementCtx) {
  for (const issue of topologyProblems(t.members)) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
}

export const TopologyInput = z.object(topologyFields).superRefine(refineTopology);
export type TopologyInput = z.input<typeof TopologyInput>;
export type TopologyValues = z.output<typeof TopologyInput>;

export const TopologyUpdateInput = z.object({ id: z.string().min(1), ...topologyFields }).superRefine(refineTopology);
export const TopologyIdInput = z.object({ id: z.string().min(1, "a topology id is required").max(64) });
export const TopologyApplyInput = TopologyIdInput.extend({
  /**
   * The plan run the operator reviewed: the apply changes only what it showed, and refuses
   * (changing nothing) if a host changed since. It must be the topology's latest plan.
   */
  planRunId: z.string().min(1).max(64).optional(),
  /** For automation: plan and apply in one call, without a reviewed plan. */
  unreviewed: z.boolean().default(false),
  /** All or nothing: change nothing when a server cannot be reached or planned (by default such servers are skipped and the run ends partial). */
  strict: z.boolean().default(false),
  /** Admins only: apply firewall rules a server rolled back before (it could not be reached with them). */
  forceFirewall: z.boolean().default(false),
}).superRefine((v, ctx) => {
  if (!v.planRunId && !v.unreviewed)
    ctx.addIssue({
      code: "custom",
      path: ["planRunId"],
      message: "is required: apply a plan you reviewed (the plan run's id), or set unreviewed: true to plan and apply in one call",
    });
  if (v.planRunId && v.unreviewed) ctx.addIssue({ code: "custom", path: ["unreviewed"], message: "cannot be set with planRunId: a reviewed plan is applied as reviewed" });
});

/** failing: files and services match, but a role's check fails (the hosts do not serve as they should). */
export const DRIFT_STATUSES = ["unknown", "in-sync", "drifted", "failing", "error"] as const;
export const DriftStatus = z.enum(DRIFT_STATUSES);

export const TopologyMemberDto = z.object({
  serverId: z.string(),
  serverName: z.string(),
  address: z.string(),
  roles: z.array(Role),
  monitoring: z.boolean(),
  hostKeyStatus: z.string(),
  lastCheckError: z.string().nullable(),
  drained: z.boolean(),
  /** Whether an admin approved this server receiving the topology's secrets (added or moved by an operator: not yet). */
  approved: z.boolean(),
});
/** One hop of traffic into a server's role, as the role modules declare it (the diagram draws these). */
export const HopDto = z.object({
  toServerId: z.string(),
  toRole: ModuleName,
  port: z.number(),
  /** "internet", "same-host", "control-plane", or the role the traffic comes from. */
  from: z.string(),
  protection: z.enum(["https", "tls", "loopback", "plain"]),
  label: z.string(),
  detail: z.string(),
});
export type HopDto = z.infer<typeof HopDto>;

export const TopologyDto = z.object({
  id: z.string(),
  name: z.string(),
  balance: BalanceMethod,
  rolloutBatchSize: z.number(),
  failureBudget: z.number(),
  createdAt: z.date(),
  updatedAt: z.date(),
  driftStatus: DriftStatus,
  driftCheckedAt: z.date().nullable(),
  driftChanges: z.number().nullable(),
  lastPlanRunId: z.string().nullable(),
  lastApplyRunId: z.string().nullable(),
  members: z.array(TopologyMemberDto),
  app: z.lazy(() => AppDto),
  lbHealth: z.lazy(() => LbHealth.nullable()),
  hops: z.array(HopDto).default([]),
});
export type TopologyDto = z.infer<typeof TopologyDto>;

// ---- Plans (what a plan or apply run computed; shown in the console and over the API)

/** Tiers run in this order across hosts: database before app, app before web, web before the load balancer. */
export const TIERS = ["base", "database", "app", "web", "load-balancer"] as const;
export const Tier = z.enum(TIERS);
export type Tier = z.infer<typeof Tier>;

export const PlanStepDto = z.object({
  id: z.string(),
  tier: Tier,
  /** e.g. "file /etc/nginx/conf.d/rampart.conf", "package nginx". */
  resource: z.string(),
  kind: z.enum(["package", "file", "directory", "service", "user", "archive", "firewall", "mysql"]),
  /** install | create | update | remove | enable | start | reload | restart | stop */
  action: z.string(),
  summary: z.string(),
  /** Why this step is needed (what was observed). */
  reason: z.string(),
  /** Unified diff for files (never for secret files). */
  diff: z.string().nullable(),
  /** The commands as they will run (argument arrays rendered for reading). */
  commands: z.array(z.string()),
});
export type PlanStepDto = z.infer<typeof PlanStepDto>;

export const CheckResultDto = z.object({
  role: ModuleName,
  name: z.string(),
  ok: z.boolean(),
  expected: z.string(),
  found: z.string(),
});
export type CheckResultDto = z.infer<typeof CheckResultDto>;

export const HostPlanDto = z.object({
  serverId: z.string(),
  name: z.string(),
  address: z.string(),
  roles: z.array(Role),
  /** Set when the host could not be observed or planned: nothing is planned for it. */
  error: z.string().nullable(),
  /** The host did not answer: an apply skips it (and the hosts that depend on it). */
  unreachable: z.boolean().default(false),
  steps: z.array(PlanStepDto),
  notes: z.array(z.string()),
  /** The checks of the host's roles, as the run found them (what was expected, what was found). */
  checks: z.array(CheckResultDto).default([]),
  /** For an apply: how the host ended, and why. */
  outcome: z.enum(["converged", "failed", "skipped", "not-started"]).nullable().default(null),
  outcomeReason: z.string().nullable().default(null),
});
export type HostPlanDto = z.infer<typeof HostPlanDto>;

export const PlanDto = z.object({
  topologyId: z.string(),
  topologyName: z.string(),
  observedAt: z.coerce.date(),
  changes: z.number(),
  hosts: z.array(HostPlanDto),
  /** Who can reach what, probed after the plan's checks or the apply (null: not probed). */
  reachability: ReachabilityDto.nullable().default(null),
});
export type PlanDto = z.infer<typeof PlanDto>;

/** Counts for the confirmation: "12 changes on 3 hosts, 2 reloads, 1 restart". */
export function planCounts(plan: Pick<PlanDto, "hosts">): { changes: number; hosts: number; reloads: number; restarts: number; text: string } {
  const steps = plan.hosts.flatMap((h) => h.steps);
  const changes = steps.length;
  const hosts = plan.hosts.filter((h) => h.steps.length > 0).length;
  const reloads = steps.filter((s) => s.action === "reload").length;
  const restarts = steps.filter((s) => s.action === "restart").length;
  const n = (k: number, one: string, many = `${one}s`) => `${k} ${k === 1 ? one : many}`;
  const text = [`${n(changes, "change")} on ${n(hosts, "host")}`, ...(reloads ? [n(reloads, "reload")] : []), ...(restarts ? [n(restarts, "restart")] : [])].join(", ");
  return { changes, hosts, reloads, restarts, text };
}

// ---- The application app servers run

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_ENV = ["PORT", "RAMPART_SERVER", "RAMPART_SITE"];

export const AppEnvVar = z.object({
  name: z
    .string()
    .trim()
    .regex(ENV_NAME, "must be a variable name such as DATABASE_URL (letters, digits, underscores)")
    .refine((n) => !RESERVED_ENV.includes(n), `is set by Rampart (${RESERVED_ENV.join(", ")})`),
  /** For a secret: the new value, or null to keep the stored one. Never sent back. */
  value: z
    .string()
    .max(8192, "must be at most 8192 characters")
    .refine((v) => !/[\r\n\0]/.test(v), "must be one line")
    .nullable(),
  secret: z.boolean().default(false),
});

export const AppSpec = z
  .object({
    /** sample: Rampart's sample app (answers with the host's name); path: a directory already on each app server; tarball: an uploaded .tar.gz. */
    source: z.enum(["sample", "path", "tarball"]).default("sample"),
    /** For source "tarball": the uploaded archive (its SHA-256, from the upload). */
    artifact: z
      .string()
      .regex(/^[0-9a-f]{64}$/, "must be the SHA-256 of an uploaded archive")
      .nullable()
      .default(null),
    /** For source "path": the application's directory on every app server. */
    path: z
      .string()
      .trim()
      .regex(/^\/[A-Za-z0-9._/-]*$/, "must be an absolute path of letters, digits, dots, dashes and slashes")
      .refine((p) => !p.split("/").includes(".."), "must not contain ..")
      .nullable()
      .default(null),
    /** Run by systemd (not a shell) in the app's directory, as an unprivileged user. */
    startCommand: z
      .string()
      .trim()
      .min(1, "is required")
      .max(1024)
      .refine((c) => !/[\r\n\0]/.test(c), "must be one line")
      .refine((c) => !c.endsWith("\\"), "must not end with a backslash")
      .refine((c) => c.startsWith("/"), "must start with the program's absolute path, e.g. /usr/bin/node server.js")
      .default("/usr/bin/python3 /opt/rampart-app/sample/app.py"),
    port: z
      .number({ error: "must be a number" })
      .int()
      .min(1024, "must be 1024 or more (the app runs unprivileged)")
      .max(65535)
      .refine((p) => p !== 8443 && p !== 9443, "8443 and 9443 are nginx's (web server next to a load balancer, TLS front of the app)")
      .default(8000),
    healthPath: z
      .string()
      .trim()
      .regex(/^\/[A-Za-z0-9._~/-]*$/, "must be a path such as /healthz")
      .default("/healthz"),
    env: z.array(AppEnvVar).max(100).default([]),
  })
  .superRefine((a, ctx) => {
    if (a.source === "path" && !a.path) ctx.addIssue({ code: "custom", path: ["path"], message: "is required when the app is a directory on the servers" });
    if (a.source === "tarball" && !a.artifact) ctx.addIssue({ code: "custom", path: ["artifact"], message: "upload the app's .tar.gz first" });
    const seen = new Set<string>();
    a.env.forEach((v, i) => {
      if (seen.has(v.name)) ctx.addIssue({ code: "custom", path: ["env", i, "name"], message: "is listed twice" });
      seen.add(v.name);
      if (!v.secret && v.value === null) ctx.addIssue({ code: "custom", path: ["env", i, "value"], message: "is required" });
    });
  });
export type AppSpec = z.output<typeof AppSpec>;
export const DEFAULT_APP: AppSpec = AppSpec.parse({});

export const AppUpdateInput = z.object({ id: z.string().min(1), app: AppSpec });

/** The app as the console sees it: secret values are never sent, only whether they are set. */
export const AppDto = z.object({
  source: z.enum(["sample", "path", "tarball"]),
  path: z.string().nullable(),
  artifact: z.string().nullable(),
  startCommand: z.string(),
  port: z.number(),
  healthPath: z.string(),
  env: z.array(z.object({ name: z.string(), value: z.string().nullable(), secret: z.boolean(), isSet: z.boolean() })),
});

/** Max size of an uploaded app archive. */
export const MAX_ARTIFACT_BYTES = 50 * 1024 * 1024;
export const ArtifactUploadInput = z.object({
  id: z.string().min(1),
  filename: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .regex(/\.(tar\.gz|tgz)$/, "must be a .tar.gz or .tgz archive"),
  /** The archive, base64-encoded. */
  contentBase64: z
    .string()
    .min(1, "the archive is empty")
    .max(Math.ceil((MAX_ARTIFACT_BYTES * 4) / 3) + 4, "is larger than 50 MB"),
});
export const ArtifactDto = z.object({ sha256: z.string(), size: z.number(), filename: z.string() });

/** Topology-level: whether it holds secrets its members receive (app secret values, the site's key). */
export const MemberApprovalInput = z.object({ id: z.string().min(1) });
export const DrainInput = z.object({ id: z.string().min(1), serverId: z.string().min(1), drained: z.boolean() });

export const BackendHealth = z.object({
  server: z.string(),
  /** As HAProxy reports it: UP, DOWN, DRAIN, MAINT, "UP 1/2"… */
  status: z.string(),
  check: z.string(),
  /** Seconds since the last status change. */
  lastChangeS: z.number().nullable(),
});
export const LbHealth = z.object({
  at: z.coerce.date(),
  loadBalancers: z.array(z.object({ name: z.string(), error: z.string().nullable(), backends: z.array(BackendHealth) })),
});
export type LbHealth = z.infer<typeof LbHealth>;
