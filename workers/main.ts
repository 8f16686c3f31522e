// The worker process: takes runs off the queue and carries them out. Started on
// its own (node dist/worker.mjs), never inside the web process.
import os from "node:os";
import { randomBytes } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { ConfigError, loadEnv } from "@/server/env";
import { createDb } from "@/server/db";
import { createLogger } from "@/server/log";
import { RUNS_QUEUE } from "@/server/queue/names";
import { createRedis, pingRedis, redactUrl, redisOptions } from "@/server/queue/redis";
import { inspectRedisConfig } from "@/server/queue/redis-config";
import { announceWorker, withdrawWorker } from "@/server/services/workers";
import { CancelRegistry, createProcessor } from "./processor";
import { redisKeys } from "@/server/queue/names";
import { DRIFT_SCAN_JOB, RENEWAL_SCAN_JOB, scanForAcmeRenewals, scanForDrift, scanForRenewals, scheduleCertificateRenewal, scheduleDriftChecks } from "./drift";
import { startLbHealthLoop } from "./lb-health";
import { startDbStatusLoop } from "./db-status";
import { AUDIT_ARCHIVE_DIR, RETENTION_JOB, archiveAudit, pruneRuns, scheduleRetention } from "./retention";
import { reconcileRuns } from "./reconcile";
import { checkDatabase } from "@/server/preflight";
import { SshExecutor } from "@/server/exec/ssh-executor";
import { SecretBox } from "@/server/secrets/envelope";
import { loadMasterKey } from "@/server/secrets/master-key";
import { reloadPrometheus, writeScrapeFiles } from "@/server/services/monitoring";
import { ensureAlertmanagerToken, writeRulesFile } from "@/server/services/alert-rules";

async function main() {
  let env;
  try {
    env = loadEnv();
  } catch (err) {
    fatal(err instanceof ConfigError ? err.message : String(err));
  }
  const log = createLogger("worker", env.LOG_LEVEL);
  const workerId = `${os.hostname()}-${process.pid}-${randomBytes(2).toString("hex")}`;

  try {
    await pingRedis(env.REDIS_URL);
  } catch (err) {
    fatal(`Cannot start the worker: ${(err as Error).message} (check REDIS_URL)`);
  }
  const db = await checkDatabase(env.DATABASE_URL).catch((err: Error) => fatal(`Cannot start the worker: ${err.message}`));

  const redis = createRedis(env.REDIS_URL, "worker");
  redis.on("error", (e) => log.warn(`redis: ${e.message}`));
  const config = await inspectRedisConfig(redis);
  for (const w of config.warnings) log.warn(w);
  if (config.problems.length > 0) fatal(`Refusing to start: ${config.problems.join("; ")}`);

  let box: SecretBox;
  try {
    box = new SecretBox(loadMasterKey({ envKey: env.RAMPART_MASTER_KEY, dataDir: env.DATA_DIR, create: false }));
  } catch (err) {
    fatal(`Cannot start the worker: ${(err as Error).message}`);
  }
  const executor = new SshExecutor();
  const queue = new Queue(RUNS_QUEUE, { connection: redisOptions(env.REDIS_URL, "worker") });
  const shutdown = new AbortController();
  // Cancel requests arrive on a pub/sub channel; the run they name stops if it runs here.
  const cancels = new CancelRegistry();
  const cancelSub = createRedis(env.REDIS_URL, "subscriber");
  cancelSub.on("error", (e) => log.warn(`redis (cancel channel): ${e.message}`));
  cancelSub.on("message", (_channel: string, runId: string) => {
    db.run
      .findUnique({ where: { id: runId }, select: { cancelRequestedBy: true } })
      .then((r) => {
        if (r && cancels.cancel(runId, r.cancelRequestedBy ?? "an operator")) log.info(`run ${runId}: cancel requested`);
      })
      .catch(() => {});
  });
  await cancelSub.subscribe(redisKeys.cancelChannel);
  const processRun = createProcessor({ db, redis, queue, env, log, workerId, executor, box, shutdown: shutdown.signal, cancels });
  // The periodic scans are jobs of BullMQ job schedulers: one job per interval for the
  // whole installation, taken by whichever worker is free. Each logs one line (counted by tests).
  const processJob: typeof processRun = async (job, token, signal) => {
    switch (job.name) {
      case RENEWAL_SCAN_JOB: {
        const ids = await scanForRenewals(db, queue);
        const orders = await scanForAcmeRenewals(db, queue);
        log.info(`certificate renewal scan: ${ids.length + orders.length === 0 ? "nothing due" : `started ${ids.length} apply run(s) and ${orders.length} ACME order(s)`}`);
        return;
      }
      case DRIFT_SCAN_JOB: {
        const ids = await scanForDrift(db, queue);
        log.info(`drift scan: started ${ids.length} plan run(s)`);
        return;
      }
      case RETENTION_JOB: {
        const pruned = await pruneRuns(db, env.RUN_RETENTION_DAYS);
        log.info(`run retention: pruned the log of ${pruned.runs} run(s) older than ${env.RUN_RETENTION_DAYS} days (${pruned.events} events)`);
        const archived = await archiveAudit(db, env.DATA_DIR, env.AUDIT_RETENTION_DAYS);
        if (archived.entries > 0) log.info(`audit retention: moved ${archived.entries} entries older than ${env.AUDIT_RETENTION_DAYS} days to ${archived.files.join(", ")} in ${AUDIT_ARCHIVE_DIR}`);
        return;
      }
      default:
        return processRun(job, token, signal);
    }
  };
  const worker = new Worker(RUNS_QUEUE, processJob, {
    connection: redisOptions(env.REDIS_URL, "worker"),
    concurrency: env.WORKER_CONCURRENCY,
    // A dead worker's job is noticed within ~lockDuration and given to another worker.
    lockDuration: 15_000,
    stalledInterval: 5_000,
    maxStalledCount: 2,
    autorun: false,
  });
  worker.on("error", (e) => log.error(`queue: ${e.message}`));
  // BullMQ could not extend a job's lock: another worker may take it over, so stop it here.
  worker.on("lockRenewalFailed", (jobIds: string[]) => {
    for (const id of jobIds) if (cancels.lose(id, `lost the queue lock of run ${id}`)) log.warn(`run ${id}: lost its queue lock; stopping it here`);
  });
  worker.on("failed", (job, err) => {
    if (!job) return;
    log.warn(`job ${job.id} failed: ${err.message}`);
    // The job may have failed outside the processor (e.g. stalled too often): end its run.
    reconcileRuns({ db, redis, queue, missingGraceMs: 60_000 }).catch(() => {});
  });

  const startedAt = new Date();
  const presence = () =>
    announceWorker(redis, {
      id: workerId,
      hostname: os.hostname(),
      pid: process.pid,
      startedAt,
      seenAt: new Date(),
      concurrency: env.WORKER_CONCURRENCY,
      ssh: { ...executor.poolStats(), opened: executor.stats.connectionsOpened },
      activeRuns: cancels.size,
    }).catch(() => {});
  await presence();
  const presenceTimer = setInterval(presence, 5_000);

  const reconcile = async () => {
    try {
      for (const r of await reconcileRuns({ db, redis, queue })) log.warn(`run ${r.runId} marked failed: ${r.reason}`);
    } catch (err) {
      log.warn(`reconcile: ${(err as Error).message}`);
    }
  };
  await reconcile();
  try {
    await scheduleCertificateRenewal(queue, env.RENEWAL_CHECK_INTERVAL_S);
    await scheduleDriftChecks(queue, env.DRIFT_CHECK_INTERVAL_S);
    await scheduleRetention(queue, env.RUN_RETENTION_DAYS, env.AUDIT_RETENTION_DAYS);
    log.info(env.DRIFT_CHECK_INTERVAL_S > 0 ? `drift checks every ${env.DRIFT_CHECK_INTERVAL_S} s` : "drift checks are off (DRIFT_CHECK_INTERVAL_S=0)");
  } catch (err) {
    log.warn(`could not schedule drift checks, renewal or retention: ${(err as Error).message}`);
  }
  const reconcileTimer = setInterval(reconcile, 15_000);
  // Prometheus's view of the servers: the exporters to scrape and the collector's certificate
  // (DATA_DIR/prometheus), kept current every few seconds (topologies applied, members added,
  // monitoring turned off, the certificate renewed).
  // The alerting rules too (rules/rampart.yml, with the thresholds set in the console).
  let scrapeTold = "";
  let reloadPending = false;
  try {
    ensureAlertmanagerToken(env.DATA_DIR);
  } catch (err) {
    log.warn(`monitoring: could not write the Alertmanager token: ${(err as Error).message}`);
  }
  const syncScrape = async () => {
    try {
      const r = await writeScrapeFiles(db, box, env.DATA_DIR);
      const rulesChanged = await writeRulesFile(db, env.DATA_DIR);
      // Until Prometheus has read them (a reload refused or unanswered is tried again next time).
      reloadPending ||= r.tlsChanged || rulesChanged;
      if (reloadPending && env.PROMETHEUS_URL) {
        await reloadPrometheus(env.PROMETHEUS_URL);
        reloadPending = false;
      }
      const said = `monitoring: ${r.targets} exporter(s) to scrape`;
      if (r.targetsChanged || r.tlsChanged || rulesChanged || said !== scrapeTold)
        log.info(`${said}${r.tlsChanged ? " (collector certificate written)" : ""}${rulesChanged ? " (alerting rules written)" : ""}`);
      scrapeTold = said;
    } catch (err) {
      // Said once until it changes (a Prometheus that refuses reloads would say it every 10 s).
      const said = `monitoring: could not write the scrape targets or rules, or reload Prometheus: ${(err as Error).message}`;
      if (said !== scrapeTold) log.warn(said);
      scrapeTold = said;
    }
  };
  await syncScrape();
  const scrapeTimer = setInterval(() => void syncScrape(), SCRAPE_SYNC_MS);
  const stopLbHealth = startLbHealthLoop({ db, executor, box, log, redis, workerId });
  const stopDbStatus = startDbStatusLoop({ db, executor, box, log, redis, workerId });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info(`${signal}: finishing active runs (up to ${env.WORKER_SHUTDOWN_TIMEOUT_MS} ms), taking no new ones`);
    clearInterval(reconcileTimer);
    clearInterval(scrapeTimer);
    stopLbHealth();
    stopDbStatus();
    const timeout = setTimeout(() => {
      log.warn("shutdown timeout: handing active runs back to the queue");
      shutdown.abort(new Error("worker shutting down"));
    }, env.WORKER_SHUTDOWN_TIMEOUT_MS);
    await worker.close().catch((e: Error) => log.warn(`close: ${e.message}`));
    clearTimeout(timeout);
    clearInterval(presenceTimer);
    await withdrawWorker(redis, workerId).catch(() => {});
    await queue.close().catch(() => {});
    cancelSub.disconnect();
    await executor.close();
    redis.disconnect();
    await db.$disconnect();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  log.info(`worker ${workerId} ready: queue ${RUNS_QUEUE}, concurrency ${env.WORKER_CONCURRENCY}, redis ${redactUrl(env.REDIS_URL)}`);
  void worker.run();
}

/** How often the scrape targets are brought up to date. */
const SCRAPE_SYNC_MS = 10_000;

function fatal(message: string): never {
  process.stderr.write(`rampart worker: ${message}\n`);
  process.exit(1);
}

void main();
