// Monitoring: what Prometheus says about a topology's servers over a time range
// (requests per second, errors, CPU, memory, disk, load, each exporter up or not),
// with the topology's applies and certificate renewals as markers.
import { router, readProcedure, operateProcedure } from "../trpc";
import { z } from "zod";
import { AlertsDto, AlertsInput, MonitoringInput, MonitoringViewDto, ScrapeConfigDto, ScrapeTargetGroupDto, SilenceDto, SilenceIdInput, SilenceInput } from "../../schemas/monitoring";
import { expireSilence, listAlerts, listSilences, silenceAlert } from "../../services/alerts";
import { principalLabel } from "../../auth/principal";
import { collectorFiles, scrapeTargets, topologyMonitoring } from "../../services/monitoring";
import { externalScrapeConfig } from "../../monitoring/views";
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
