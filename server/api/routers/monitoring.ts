// Monitoring: what Prometheus says about a topology's servers over a time range
// (requests per second, errors, CPU, memory, disk, load, each exporter up or not),
// with the topology's applies and certificate renewals as markers.
import { router, readProcedure, operateProcedure, adminProcedure } from "../trpc";
import { z } from "zod";
import {
  AlertRuleDto,
  AlertRuleUpdateInput,
  AlertsDto,
  AlertsInput,
  ExternalRulesDto,
  MonitoringInput,
  MonitoringViewDto,
  ScrapeConfigDto,
  ScrapeTargetGroupDto,
  SilenceDto,
  SilenceIdInput,
  SilenceInput,
} from "../../schemas/monitoring";
import { expireSilence, listAlerts, listSilences, silenceAlert } from "../../services/alerts";
import { principalLabel } from "../../auth/principal";
import { collectorFiles, scrapeTargets, serverMonitoring, topologyMonitoring } from "../../services/monitoring";
import { externalScrapeConfig } from "../../monitoring/views";
import { alertmanagerConfig } from "../../../scripts/prometheus-config.mjs";
import { alertRulesYaml, listAlertRules, updateAlertRule } from "../../services/alert-rules";
import { env } from "../../env";

export const monitoringRouter = router({
  topology: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/topologies/{id}/monitoring",
        protect: true,
        tags: ["monitoring"],
        summary:
          "A topology's metrics over a range (rangeS: 900, 3600, 21600 or 86400): QPS per load balancer and web server, 4xx/5xx, CPU, memory, disk, load, exporters up, apply and renewal markers",
      },
    })
    .input(MonitoringInput)
    .output(MonitoringViewDto)
    .query(({ ctx, input }) => topologyMonitoring(ctx.db, env().PROMETHEUS_URL, input)),

  server: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/servers/{id}/monitoring",
        protect: true,
        tags: ["monitoring"],
        summary: "A server's own metrics over a range (rangeS as for a topology): CPU, memory, disk, load, and its roles' views (QPS, backends, replica lag); null when it is in no topology",
      },
    })
    .input(MonitoringInput)
    .output(MonitoringViewDto.nullable())
    .query(({ ctx, input }) => serverMonitoring(ctx.db, env().PROMETHEUS_URL, input)),

  targets: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/monitoring/targets",
        protect: true,
        tags: ["monitoring"],
        summary: "Every exporter to scrape, in Prometheus's HTTP service-discovery format (for a Prometheus of your own: http_sd_configs with an API token)",
      },
    })
    .input(z.void())
    .output(z.array(ScrapeTargetGroupDto))
    .query(({ ctx }) => scrapeTargets(ctx.db)),

  scrapeConfig: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/monitoring/scrape-config",
        protect: true,
        tags: ["monitoring"],
        summary: "A ready scrape job for a Prometheus of your own, and where the collector's certificate files are",
      },
    })
    .input(z.void())
    .output(ScrapeConfigDto)
    .query(() => {
      const e = env();
      const files = collectorFiles(e.DATA_DIR);
      const base = e.PUBLIC_URL ?? `http://localhost:${e.PORT}`;
      return {
        config: externalScrapeConfig({ sdUrl: new URL("/api/v1/monitoring/targets", base).toString(), tokenFile: "/etc/prometheus/rampart-token", ca: files.ca, cert: files.cert, key: files.key }),
        files,
      };
    }),

  rules: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/monitoring/rules",
        protect: true,
        tags: ["monitoring"],
        summary:
          "For a Prometheus and Alertmanager of your own: the alerting rules file with the thresholds in force, and an Alertmanager receiver that delivers alerts to Rampart (its token: DATA_DIR/prometheus/alertmanager-token on the worker's machine)",
      },
    })
    .input(z.void())
    .output(ExternalRulesDto)
    .query(async ({ ctx }) => {
      const e = env();
      const base = e.PUBLIC_URL ?? `http://localhost:${e.PORT}`;
      return {
        rules: await alertRulesYaml(ctx.db),
        // The embedded Alertmanager's configuration without the webhooks: merge its receiver into yours, with a route to it.
        alertmanager: alertmanagerConfig({ rampartUrl: new URL("/api/alertmanager", base).toString(), tokenFile: "/etc/alertmanager/rampart-token" }),
      };
    }),

  alertRules: readProcedure
    .meta({ openapi: { method: "GET", path: "/alert-rules", protect: true, tags: ["monitoring"], summary: "Rampart's alerting rules: each one's threshold, duration and whether it is on" } })
    .input(z.void())
    .output(z.array(AlertRuleDto))
    .query(({ ctx }) => listAlertRules(ctx.db)),

  updateAlertRule: adminProcedure
    .meta({
      openapi: {
        method: "PUT",
        path: "/alert-rules/{name}",
        protect: true,
        tags: ["monitoring"],
        summary: "Change an alerting rule's threshold (within its bounds) and duration, or turn it off; Prometheus runs it within 10 s",
      },
    })
    .input(AlertRuleUpdateInput)
    .output(AlertRuleDto)
    .mutation(({ ctx, input }) => updateAlertRule(ctx.db, principalLabel(ctx.principal!), input)),

  alerts: readProcedure
    .meta({
      openapi: {
        method: "GET",
        path: "/alerts",
        protect: true,
        tags: ["monitoring"],
        summary: "Alerts from Prometheus's rules as Alertmanager delivered them: those firing, and the history (topologyId narrows it)",
      },
    })
    .input(AlertsInput)
    .output(AlertsDto)
    .query(({ ctx, input }) => listAlerts(ctx.db, input)),

  silences: readProcedure
    .meta({ openapi: { method: "GET", path: "/silences", protect: true, tags: ["monitoring"], summary: "The silences in force in Alertmanager" } })
    .input(z.void())
    .output(z.array(SilenceDto))
    .query(() => listSilences(env().ALERTMANAGER_URL)),

  silence: operateProcedure
    .meta({
      openapi: {
        method: "POST",
        path: "/alerts/{alertId}/silence",
        protect: true,
        tags: ["monitoring"],
        summary: "Silence an alert (its rule on its server and topology) for 1, 4 or 24 hours: no notification meanwhile, to Rampart or the webhooks",
      },
    })
    .input(SilenceInput)
    .output(SilenceDto)
    .mutation(({ ctx, input }) => silenceAlert(ctx.db, env().ALERTMANAGER_URL, { name: principalLabel(ctx.principal!) }, input)),

  expireSilence: operateProcedure
    .meta({ openapi: { method: "DELETE", path: "/silences/{id}", protect: true, tags: ["monitoring"], summary: "End a silence now" } })
    .input(SilenceIdInput)
    .output(z.object({ ok: z.boolean() }))
    .mutation(async ({ input }) => {
      await expireSilence(env().ALERTMANAGER_URL, input.id);
      return { ok: true };
    }),
});
