import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './api/build-app.ts';
import type { Config } from './config.ts';
import { cachedSecretLookup, ensureBootstrapAccount } from './domain/accounts/account-service.ts';
import { ReplayGuard } from './domain/replay-guard.ts';
import { loadClassCatalogue } from './domain/catalogue/instance-class-catalogue.ts';
import { createInstanceService } from './domain/instances/instance-service.ts';
import { createClearDataService } from './domain/clear-data/clear-data-service.ts';
import { createInstanceSettingsService } from './domain/settings/instance-settings-service.ts';
import { createDiagnosticsService } from './domain/diagnostics/diagnostics-service.ts';
import { createTaskProgressService } from './domain/analysis/task-progress-service.ts';
import { createCacheAnalysisService } from './domain/analysis/cache-analysis-service.ts';
import { createAutoAnalysisScheduler } from './domain/analysis/auto-analysis-scheduler.ts';
import { toInstanceSpec } from './domain/instances/instance-spec.ts';
import { PasswordSeal } from './domain/instances/password-seal.ts';
import { createLocalDriver } from './drivers/local/local-driver.ts';
import { promisedNodeMemoryBytes } from './drivers/local/memory-guard.ts';
import { checkRedisBinary } from './drivers/local/redis-binary.ts';
import { wrapDriver } from './drivers/wrap-driver.ts';
import type { Driver } from './drivers/driver.ts';
import { publishedRole, rolesOf } from './drivers/local/port-book.ts';
import { defaultTaskHandlers } from './engine/handlers/default-handlers.ts';
import { createPortBook, reserveRoles } from './store/ports-repo.ts';
import { rotateCa } from './drivers/local/tls-material.ts';
import { Engine } from './engine/engine.ts';
import type { Logger } from './logger.ts';
import type { Db } from './store/open-store.ts';
import { openServiceStore, storeFile } from './store/open-service-store.ts';
import { changeCounter } from './store/change-counter.ts';
import { createServiceMetrics } from './metrics/service-metrics.ts';
import { listInstanceEvents } from './domain/instances/instance-events.ts';
import { buildMetricsApp } from './api/build-metrics-app.ts';
import { createBackupService } from './domain/backups/backup-service.ts';
import { loadOrCreateLinkKey } from './domain/backups/download-link.ts';
import { createDirectoryBackupStore } from './store/directory-backup-store.ts';
import { BackupScheduler } from './engine/backup-scheduler.ts';
import { backupHandler } from './engine/handlers/backup-handler.ts';
import { restoreHandler } from './engine/handlers/restore-handler.ts';

/** A running service: the HTTP app (already listening), its engine and store. */
export interface Service {
  app: FastifyInstance;
  engine: Engine;
  db: Db;
  /** The wrapped driver the engine uses (ephemeral mode removes every instance through it on exit). */
  driver: Driver;
  /** `http://host:port` the API listens on. */
  url: string;
  /** `http://host:port` of the metrics listener, when JCS_METRICS_PORT gave it one (else `/metrics` is on `url`). */
  metricsUrl?: string;
  /** Stops accepting requests, finishes those in flight and the engine's current steps, closes the store. Instances keep running. */
  close(): Promise<void>;
}

export { storeFile };

export interface StartOptions {
  /** Wraps the driver before the engine gets it (benchmarks record when calls happen). */
  instrumentDriver?: (driver: Driver) => Driver;
  /** A firewall table of this service alone, removed on close (the ephemeral mode). Default: the host's shared `jcs_redis`, kept on close. */
  firewallTable?: { name: string; own: boolean };
}

/**
 * `jcs-redis tls rotate`: a new generation of the CA that authenticates the links between instance nodes.
 * A running service (or the next one started) re-issues every instance's certificate and applies it live.
 */
export const rotateInternalCa = (dataDir: string): Promise<number> => rotateCa(dataDir);

/**
 * The only place that wires concrete pieces: store, local driver, engine, API. Listens on
 * `config.host:config.port` (port 0 picks a free one, for tests).
 */
export async function startService(config: Config, logger: Logger, opts: StartOptions = {}): Promise<Service> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const redisVersion = await checkRedisBinary(config.redisServer);
  const store = await openServiceStore(config.dataDir, config.databaseUrl, (err) =>
    logger.warn({ err: err.message }, 'a pooled database connection failed; it is replaced on next use'),
  );
  const db = store.db;
  const portPolicy = { range: config.instancePorts, quarantineMs: config.portQuarantineS * 1000 };
  const local = createLocalDriver({
      ports: createPortBook(db, portPolicy),
      dataDir: config.dataDir,
      redisServer: config.redisServer,
      bindHost: config.bindHost,
      nft: config.nft,
      firewallTable: opts.firewallTable,
      memoryCgroups: config.memoryCgroups,
      hungNodeMs: config.hungNodeMs,
      retypeStepMs: config.retypeStepMs,
      redisCheckRdb: config.redisCheckRdb,
      logger: logger.child({ component: 'driver' }),
    });
  const driver = wrapDriver(opts.instrumentDriver ? opts.instrumentDriver(local) : local, { logger: logger.child({ component: 'driver' }), timeoutMs: 30_000 });
  try {
    await driver.init(AbortSignal.timeout(10_000));
  } catch (err) {
    await store.close();
    throw err;
  }
  const boot = await ensureBootstrapAccount(db, config.dataDir, { accessKey: config.accessKey, secretKey: config.secretKey });
  if (boot.kind === 'generated') {
    logger.info({ accessKey: boot.accessKey, file: boot.file }, `created account ${boot.accessKey}; its secret key is in ${boot.file}`);
  }

  // One reader of the store's change counter: the engine's settled list and the API's read cache.
  const storeVersion = changeCounter(db);
  // Backups: files in a directory (an object store would be another BackupStore), tasks in the engine.
  const backupFiles = createDirectoryBackupStore(config.backupDir ?? join(config.dataDir, 'backups'));
  const backupLimits = { perInstance: config.backupMaxPerInstance, accountBytes: Math.floor(config.backupQuotaGb * 1e9), retentionDays: config.backupRetentionDays };
  // The tenant passwords that proxies need, sealed under a key of the data directory (password-seal.ts).
  const passwordSeal = await PasswordSeal.ofDataDir(config.dataDir);
  const engine = new Engine({
    db,
    driver,
    passwordSeal,
    logger: logger.child({ component: 'engine' }),
    handlers: [...defaultTaskHandlers, backupHandler(backupFiles), restoreHandler(backupFiles)],
    maxAttempts: config.taskAttempts,
    maxHealthChecksPerSecond: config.healthChecksPerSecond,
    storeVersion,
    leaseMs: config.leaseMs,
    // On PostgreSQL several processes share the instances' health checks; on SQLite this one is alone.
    shareHealthChecks: config.databaseUrl !== undefined,
  });
  try {
    await engine.join();
  } catch (err) {
    await driver.close();
    await store.close();
    throw err;
  }
  // A deleted instance's samples go with it.
  engine.onEvent((e) => {
    if (e.type === 'task-finished' && e.kind === 'delete') engine.samples.forget(e.instanceId);
  });
  const backups = createBackupService({
    db,
    files: backupFiles,
    logger: logger.child({ component: 'backups' }),
    notifyEngine: () => engine.notify(),
    now: () => new Date(),
    linkKey: await loadOrCreateLinkKey(config.dataDir),
    limits: backupLimits,
  });
  const backupScheduler = new BackupScheduler({ db, files: backupFiles, logger: logger.child({ component: 'backup-schedule' }), limits: backupLimits, notifyEngine: () => engine.notify() });
  const instances = createInstanceService({
    db,
    passwordSeal,
    createFromBackup: backups.createFromBackup,
    catalogue: loadClassCatalogue(driver.topologies),
    config,
    logger: logger.child({ component: 'instances' }),
    // The local driver's nodes need ports: reserved with the instance, in its transaction.
    reserveNodes: async (trx, spec) => {
      const exact = spec.requestedPort === undefined ? undefined : new Map([[publishedRole(spec.topology), spec.requestedPort]]);
      const book = await reserveRoles(trx, portPolicy, Date.now(), spec.id, rolesOf(spec), exact ? { exact } : {});
      return { endpointPort: book.get(publishedRole(spec.topology)) ?? null };
    },
    usedMemory: (id) => engine.usedMemory(id),
    // What one node is promised: maxmemory plus the allowances the local driver's memory guard sets.
    nodePromise: promisedNodeMemoryBytes,
    notifyEngine: () => engine.notify(),
    now: () => new Date(),
    engineVersion: redisVersion.split('.').slice(0, 2).join('.'),
    ipWhiteListEnforcement: () => driver.capabilities.ipWhiteList,
  });
  const clearData = createClearDataService({
    db,
    logger: logger.child({ component: 'clear-data' }),
    notifyEngine: () => engine.notify(),
    now: () => new Date(),
  });
  const replays = await ReplayGuard.open({ db, logger: logger.child({ component: 'replay-guard' }) });
  const settings = createInstanceSettingsService({
    db,
    logger: logger.child({ component: 'settings' }),
    notifyEngine: () => engine.notify(),
    now: () => new Date(),
  });
  // Diagnostics read the nodes through the driver on request, bounded like an observe.
  const diagnostics = createDiagnosticsService({
    db,
    inspect: async (row) => (driver.inspectNodes ? driver.inspectNodes(toInstanceSpec(row, passwordSeal), AbortSignal.timeout(5_000)) : []),
    topology: (row) => driver.observe(toInstanceSpec(row, passwordSeal), AbortSignal.timeout(5_000)),
  });
  const metrics = createServiceMetrics({ db, engine });
  const metricsAccess = { token: config.metricsToken, anyClient: config.metricsPort !== undefined };
  // Cache analysis; the daily automatic runs are started by a timer and, at once, when a window changes.
  const cacheAnalysis = createCacheAnalysisService({
    db,
    logger: logger.child({ component: 'cache-analysis' }),
    notifyEngine: () => engine.notify(),
    now: () => new Date(),
    onScheduleChanged: () => void autoAnalysis.tick(),
  });
  const autoAnalysis = createAutoAnalysisScheduler({ db, analyses: cacheAnalysis, logger: logger.child({ component: 'auto-analysis' }), now: () => new Date() });
  const app = await buildApp({
    metrics: { ...metrics, access: config.metricsPort === undefined ? metricsAccess : null },
    logger,
    instances,
    clearData,
    settings,
    diagnostics,
    backups,
    taskProgress: createTaskProgressService({ db, now: () => new Date() }),
    cacheAnalysis,
    regions: config.regions,
    consoleDir: config.consoleDir,
    lookupSecret: cachedSecretLookup(db),
    replays,
    storeVersion,
    samples: engine.samples,
    instanceEvents: (scope, id, limit) => listInstanceEvents(db, scope, id, limit),
    health: async () => {
      await db.selectFrom('accounts').select('access_key').limit(1).execute();
      return engine.health();
    },
    connections: {
      maxConnections: config.apiMaxConnections,
      maxConnectionsPerIp: config.apiMaxConnectionsPerIp,
      headersTimeoutMs: config.apiHeadersTimeoutMs,
      requestTimeoutMs: config.apiRequestTimeoutMs,
      keepAliveTimeoutMs: config.apiKeepAliveTimeoutMs,
    },
  });
  engine.start();
  backupScheduler.start();
  autoAnalysis.start();
  let url: string;
  const metricsApp = config.metricsPort === undefined ? undefined : await buildMetricsApp(metrics, metricsAccess);
  let metricsUrl: string | undefined;
  try {
    url = await app.listen({ host: config.host, port: config.port });
    metricsUrl = await metricsApp?.listen({ host: config.metricsHost, port: config.metricsPort });
  } catch (err) {
    await app.close();
    await metricsApp?.close();
    metrics.close();
    await backupScheduler.stop();
    await autoAnalysis.stop();
    await engine.stop();
    await driver.close();
    await replays.close();
    await store.close();
    throw err;
  }
  logger.info(
    { url, dataDir: config.dataDir, redisVersion, apiMaxConnections: config.apiMaxConnections, apiMaxConnectionsPerIp: config.apiMaxConnectionsPerIp },
    `jcs-redis listening on ${url}`,
  );

  let closing: Promise<void> | null = null;
  return {
    app,
    engine,
    db,
    driver,
    url,
    ...(metricsUrl && { metricsUrl }),
    close() {
      closing ??= (async () => {
        await app.close();
        await metricsApp?.close();
        metrics.close();
        await backupScheduler.stop();
        await autoAnalysis.stop();
        await engine.stop();
        await driver.close();
        await replays.close();
        await store.close();
      })();
      return closing;
    },
  };
}
