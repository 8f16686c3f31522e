// Monitoring: what Prometheus says about a topology's servers over a time range
// (requests per second, errors, CPU, memory, disk, load, each exporter up or not),
// with the topology's applies and certificate renewals as markers.
import { router, readProcedure } from "../trpc";
import { z } from "zod";
import { AlertsDto, AlertsInput, MonitoringInput, MonitoringViewDto, ScrapeConfigDto, ScrapeTargetGroupDto } from "../../schemas/monitoring";
import { listAlerts } from "../../services/alerts";
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
});
