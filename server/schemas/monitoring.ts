// Monitoring views shared by the console, the routers and the REST API: what
// Prometheus says about a topology's servers, over a time range.
import { z } from "zod";

/** The ranges the console offers (seconds). */
export const MONITORING_RANGES = [900, 3600, 6 * 3600, 24 * 3600] as const;

export const MonitoringInput = z.object({
  id: z.string().min(1),
  rangeS: z.coerce
    .number()
    .int()
    .refine((v) => (MONITORING_RANGES as readonly number[]).includes(v), { error: `must be one of ${MONITORING_RANGES.join(", ")} seconds` })
    .default(3600),
  /** The end of the range (default: now). */
  end: z.coerce.date().optional(),
});

export const SeriesDto = z.object({
  /** What the line is: a server's name, a frontend, "total". */
  name: z.string(),
  /** [unix seconds, value] pairs; gaps where Prometheus had no sample. */
  points: z.array(z.tuple([z.number(), z.number()])),
});

export const ChartDto = z.object({
  id: z.string(),
  title: z.string(),
  /** How to read the values: requests per second, a ratio 0–1, a load average. */
  unit: z.enum(["req/s", "ratio", "load", "seconds", "days"]),
  series: z.array(SeriesDto),
  /** The PromQL behind it, for operators who want it in their own Prometheus. */
  query: z.string(),
});

export const MarkerDto = z.object({
  at: z.date(),
  kind: z.enum(["apply", "renewal"]),
  label: z.string(),
  runId: z.string().nullable(),
});

export const ServerHealthDto = z.object({
  serverId: z.string(),
  name: z.string(),
  /** Each exporter Prometheus scrapes there and whether its last scrape succeeded (null: not scraped yet). */
  exporters: z.array(z.object({ name: z.string(), up: z.boolean().nullable() })),
  /** At a glance: down (an exporter does not answer, or a critical alert), degraded (a warning), unknown, healthy; and why. */
  health: z.object({ state: z.enum(["healthy", "degraded", "down", "unknown"]), reasons: z.array(z.string()) }),
});

export const MonitoringViewDto = z.object({
  topologyId: z.string(),
  topologyName: z.string(),
  /** The server, on a server's own view (null: the whole topology). */
  server: z.object({ id: z.string(), name: z.string() }).nullable(),
  /** null: Prometheus answered; otherwise why the charts are empty. */
  error: z.string().nullable(),
  range: z.object({ start: z.date(), end: z.date(), stepS: z.number() }),
  charts: z.array(ChartDto),
  servers: z.array(ServerHealthDto),
  markers: z.array(MarkerDto),
});
export type MonitoringViewDto = z.infer<typeof MonitoringViewDto>;

/** Prometheus's HTTP service discovery format: groups of targets with their labels. */
export const ScrapeTargetGroupDto = z.object({ targets: z.array(z.string()), labels: z.record(z.string(), z.string()) });

/** A ready scrape configuration for a Prometheus of the operator's own. */
export const ScrapeConfigDto = z.object({
  /** The scrape_configs entry (YAML). */
  config: z.string(),
  /** Where the worker keeps the files it names (copy them to the Prometheus machine). */
  files: z.object({ ca: z.string(), cert: z.string(), key: z.string() }),
});

export const AlertDto = z.object({
  id: z.string(),
  name: z.string(),
  severity: z.string(),
  status: z.enum(["firing", "resolved"]),
  summary: z.string(),
  description: z.string(),
  labels: z.record(z.string(), z.string()),
  topologyId: z.string().nullable(),
  serverId: z.string().nullable(),
  startsAt: z.date(),
  endsAt: z.date().nullable(),
  receivedAt: z.date(),
});
export type AlertDto = z.infer<typeof AlertDto>;

export const AlertsInput = z.object({ topologyId: z.string().min(1).optional(), limit: z.coerce.number().int().min(1).max(500).default(100) });
export const AlertsDto = z.object({ firing: z.array(AlertDto), history: z.array(AlertDto) });

/** What Alertmanager's webhook sends (version 4), as far as Rampart reads it. */
export const AlertmanagerWebhook = z.object({
  version: z.string(),
  status: z.string(),
  alerts: z
    .array(
      z.object({
        status: z.enum(["firing", "resolved"]),
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
        startsAt: z.coerce.date(),
        endsAt: z.coerce.date(),
        fingerprint: z.string().min(1).max(64),
      }),
    )
    .max(1000),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhook>;

export const SILENCE_DURATIONS = [3600, 4 * 3600, 24 * 3600] as const;
export const SilenceInput = z.object({
  alertId: z.string().min(1),
  durationS: z.coerce
    .number()
    .int()
    .refine((v) => (SILENCE_DURATIONS as readonly number[]).includes(v), { error: "must be 1, 4 or 24 hours (3600, 14400 or 86400 seconds)" })
    .default(3600),
  comment: z.string().trim().max(500, "is too long (500 characters at most)").default(""),
});
export const SilenceIdInput = z.object({ id: z.string().min(1).max(64) });
export const SilenceDto = z.object({
  id: z.string(),
  /** What it matches: label = value. */
  matchers: z.array(z.object({ name: z.string(), value: z.string() })),
  startsAt: z.date(),
  endsAt: z.date(),
  createdBy: z.string(),
  comment: z.string(),
});
export type SilenceDto = z.infer<typeof SilenceDto>;

/** One of Rampart's alerting rules with its setting (server/monitoring/rules.ts). */
export const AlertRuleDto = z.object({
  name: z.string(),
  severity: z.enum(["critical", "warning"]),
  about: z.string(),
  /** The threshold's meaning and bounds (null: the rule has none). */
  threshold: z.object({ label: z.string(), unit: z.enum(["%", "s", "days", "failures"]), default: z.number(), min: z.number(), max: z.number(), integer: z.boolean() }).nullable(),
  defaultForS: z.number().int(),
  /** In force: the stored setting, or the defaults. */
  value: z.object({ threshold: z.number().nullable(), forS: z.number().int(), enabled: z.boolean() }),
  /** Who changed it last (null: defaults). */
  updatedBy: z.string().nullable(),
  updatedAt: z.date().nullable(),
});
export type AlertRuleDto = z.infer<typeof AlertRuleDto>;

export const AlertRuleUpdateInput = z.object({
  name: z.string().min(1).max(100),
  /** Required for a rule with a threshold, absent or null otherwise; within the rule's bounds. */
  threshold: z.number().finite().nullable().optional(),
  forS: z.number().int("must be whole seconds").min(0, "cannot be negative").max(86_400, "is at most a day (86400 s)"),
  enabled: z.boolean(),
});

/** The rules and the Alertmanager receiver for a Prometheus and Alertmanager of the operator's own. */
export const ExternalRulesDto = z.object({
  /** The rules file (Prometheus's rule_files), with the settings in force. */
  rules: z.string(),
  /** The receiver that sends alerts to Rampart (Alertmanager's configuration). */
  alertmanager: z.string(),
});
