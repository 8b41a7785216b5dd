import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import type { Logger } from '../logger.ts';
import { newRequestId } from '../domain/ids.ts';
import { DomainError } from '../domain/domain-error.ts';
import { assertRegion } from '../domain/regions.ts';
import { sendError, writeClientError } from './error-envelope.ts';
import { rewriteActionUrl } from './action-url.ts';
import { authenticate, type AuthDeps } from './authenticate.ts';
import { ConnectionGuard, type ApiServerLimits } from './connection-guard.ts';
import { registerInstanceRoutes } from './routes/instance-routes.ts';
import { ResponseCache } from './response-cache.ts';
import { registerRegionRoutes } from './routes/region-routes.ts';
import { registerCatalogueRoutes } from './routes/catalogue-routes.ts';
import { registerClearDataRoutes } from './routes/clear-data-routes.ts';
import { registerNotImplementedRoutes } from './routes/not-implemented-routes.ts';
import type { InstanceService } from '../domain/instances/instance-service.ts';
import type { ClearDataService } from '../domain/clear-data/clear-data-service.ts';
import type { InstanceSettingsService } from '../domain/settings/instance-settings-service.ts';
import { registerInstanceSettingsRoutes } from './routes/instance-settings-routes.ts';
import type { DiagnosticsService } from '../domain/diagnostics/diagnostics-service.ts';
import { registerDiagnosticsRoutes } from './routes/diagnostics-routes.ts';
import { registerConsoleRoutes } from './routes/console-routes.ts';
import { registerSamplesRoutes } from './routes/samples-routes.ts';
import type { InstanceSamples } from '../engine/instance-samples.ts';
import { registerMetricsRoute, type MetricsAccess, type MetricsEndpoint } from './routes/metrics-routes.ts';
import { registerInstanceEventsRoutes, type ListInstanceEvents } from './routes/instance-events-routes.ts';
import type { BackupService } from '../domain/backups/backup-service.ts';
import { registerBackupRoutes } from './routes/backup-routes.ts';
import type { TaskProgressService } from '../domain/analysis/task-progress-service.ts';
import { registerTaskProgressRoutes } from './routes/task-progress-routes.ts';
import type { CacheAnalysisService } from '../domain/analysis/cache-analysis-service.ts';
import { registerCacheAnalysisRoutes } from './routes/cache-analysis-routes.ts';
import { registerHotKeyRoutes } from './routes/hot-key-routes.ts';

export interface AppDeps extends AuthDeps {
  logger: Logger;
  instances: InstanceService;
  /** Data purges (startClearData, stopClearData, describeClearData); without it they answer 501. */
  clearData?: ClearDataService;
  /** Configuration, disabled commands and Redis accounts of instances (absent: those routes are not served). */
  settings?: InstanceSettingsService;
  /** Slow log, client connections and topology read live from nodes (absent: those routes are not served). */
  diagnostics?: DiagnosticsService;
  /** Backups, restores and their download links (absent: those operations answer 501). */
  backups?: BackupService;
  /** Resize progress (describeTaskProgressList); absent: that route answers 501. */
  taskProgress?: TaskProgressService;
  /** Cache analysis: big keys, hot keys, thresholds, daily windows (absent: those routes answer 501). */
  cacheAnalysis?: CacheAnalysisService;
  regions: readonly string[];
  /**
   * The store's change counter (store/change-counter.ts): with it, describe and list answers are
   * cached until the store changes. Without it nothing is cached.
   */
  storeVersion?: () => string | undefined;
  /**
   * Whether the service can do its work (the store answers, the engine loop turns), for GET /healthz:
   * 200 when ok, 503 with the reason otherwise. Public: nothing about the host or versions goes here.
   */
  health?: () => Promise<{ ok: boolean; reason: string }>;
  /**
   * Connection limits and timeouts of the HTTP server (config.ts, JCS_API_*). Without them Node's and
   * Fastify's defaults apply and nothing bounds the number of connections.
   */
  connections?: ApiServerLimits;
  /** Directory of the built web console, served at /console/ (absent: no console). */
  consoleDir?: string;
  /**
   * What each instance's nodes reported at their last health checks (engine/instance-samples.ts), for
   * the console's charts; reading it never reaches Redis. A route checks the caller owns the instance first.
   */
  samples?: Pick<InstanceSamples, 'latest' | 'history' | 'lastFailoverAt'>;
  /** An instance's recent events (GET …/events, an extension for `jcs-redis events`; absent: not served). */
  instanceEvents?: ListInstanceEvents;
  /**
   * Prometheus metrics: every request is recorded by JD operation and status; `/metrics` is served on
   * this app unless `access` is null (the operator gave metrics a listener of their own, JCS_METRICS_PORT).
   */
  metrics?: MetricsEndpoint & {
    observeRequest(operation: string, status: number, seconds: number): void;
    access: MetricsAccess | null;
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The access key of the verified caller; set by the auth hook. */
    account: string;
  }
  interface FastifyContextConfig {
    /** Routes that answer without a signature (health, OpenAPI). */
    public?: boolean;
  }
}

const EMPTY_BODY = Buffer.alloc(0);

/** Request bodies larger than this are refused with 413 before they are read further. */
export const BODY_LIMIT = 64 * 1024;

/** A socket with no traffic either way for this long is closed (a client that stopped reading its answer). */
const SOCKET_IDLE_MS = 60_000;

/**
 * Builds the HTTP app without listening: main.ts listens, tests call `inject()` or listen on port 0.
 * Order of work per request: raw body → signature (over the raw bytes) → credential scope region =
 * path region → replay check (the signature is admitted once) → JSON parse → schema validation →
 * handler → JD Cloud envelope. With `connections`, the server's connections are bounded first
 * (connection-guard.ts).
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const limits = deps.connections;
  const app = Fastify({
    ...(limits && {
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionTimeout: SOCKET_IDLE_MS,
      // Node checks the headers and request timeouts every connectionsCheckingInterval (default 30 s).
      http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: 1_000 },
    }),
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: () => newRequestId(),
    // Fastify's own per-request lines are replaced by one line per request from onResponse.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    rewriteUrl: (req) => rewriteActionUrl(req.url ?? '/'),
    // Router-level failures (undecodable URL, over-long segment) get the same envelope as the rest,
    // and so do requests Node refuses before Fastify sees them (headers over 16 KiB, timeouts).
    frameworkErrors: (err, request, reply) => sendError(err, request, reply),
    clientErrorHandler: writeClientError,
    // While closing, requests on open keep-alive connections get our own 503 envelope (onRequest below).
    return503OnClosing: false,
    ajv: { customOptions: { verbose: true, coerceTypes: true, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  if (limits) new ConnectionGuard(app.server, limits, deps.logger.child({ component: 'connections' }));
  app.decorateRequest('account', '');

  // Keep the exact bytes: the signature covers them, so JSON is parsed only after it verifies.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('connection', 'close');
    throw new DomainError('UNAVAILABLE', 'the service is shutting down; retry in a moment');
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-jdcloud-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.routeOptions.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
    // By JD operation (a fixed set), never by raw URL: a label per instance id would grow without bound.
    const operation = request.routeOptions.schema?.operationId ?? request.routeOptions.url ?? 'unmatched';
    deps.metrics?.observeRequest(operation, reply.statusCode, reply.elapsedTime / 1000);
  });
  // Callback style, not async: a signed request whose secret is cached is checked without a turn of
  // the promise queue. The hook runner turns a synchronous throw into the error reply.
  app.addHook('preValidation', (request, _reply, done) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : EMPTY_BODY;
    if (request.routeOptions.config.public) return admit(request, raw, undefined, deps.regions, done);
    const account = authenticate(deps, request, raw);
    if (typeof account === 'string') return admit(request, raw, account, deps.regions, done);
    account.then(
      (a) => {
        try {
          admit(request, raw, a, deps.regions, done);
        } catch (err) {
          done(err as Error);
        }
      },
      (err: Error) => done(err),
    );
  });

  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(new DomainError('NOT_FOUND', `no such operation: ${request.method} ${request.url.split('?')[0]}`), request, reply),
  );

  await app.register(swagger, {
    openapi: {
      info: { title: 'jcs-redis: JD Cloud JCS for Redis OpenAPI v1', version: '1.0.0' },
      components: {
        securitySchemes: {
          jdcloud: { type: 'apiKey', in: 'header', name: 'authorization', description: 'JDCLOUD2-HMAC-SHA256 or JDCLOUD3-HMAC-SHA256 signature' },
        },
      },
      security: [{ jdcloud: [] }],
    },
    // `/:id/~action` is shown as `{id}:action`; after a literal (`/backup/~describeDownloadUrl`) the
    // colon is doubled, or the swagger plugin would read `:describeDownloadUrl` as a path parameter.
    transform: ({ schema, url }) => ({ schema, url: url.replace(/(\/:\w+)\/~([A-Za-z]+)$/, '$1:$2').replace(/\/~([A-Za-z]+)$/, '::$1') }),
  });

  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    const h = deps.health ? await deps.health().catch((err: unknown) => ({ ok: false, reason: `the store does not answer: ${(err as Error).message}` })) : { ok: true, reason: '' };
    if (!h.ok) reply.code(503);
    return { requestId: request.id, result: h.ok ? { status: 'ok' } : { status: 'unavailable', reason: h.reason } };
  });
  if (deps.metrics?.access) registerMetricsRoute(app, deps.metrics, deps.metrics.access);
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  // Answers also depend on the clock (a prepaid instance's chargeStatus turns overdue at its expiry
  // with no write to the store): cached answers last at most until the next minute.
  const storeVersion = deps.storeVersion;
  const cacheVersion = storeVersion ? () => versionThisMinute(storeVersion()) : () => undefined;
  registerInstanceRoutes(app, deps.instances, new ResponseCache(cacheVersion));
  registerRegionRoutes(app, deps.instances);
  registerCatalogueRoutes(app, deps.instances, deps.regions);
  if (deps.clearData) registerClearDataRoutes(app, deps.clearData);
  if (deps.settings) registerInstanceSettingsRoutes(app, deps.settings);
  if (deps.diagnostics) registerDiagnosticsRoutes(app, deps.diagnostics);
  if (deps.instanceEvents) registerInstanceEventsRoutes(app, deps.instanceEvents);
  if (deps.samples) registerSamplesRoutes(app, deps.instances, deps.samples);
  if (deps.consoleDir) await registerConsoleRoutes(app, deps.consoleDir);
  if (deps.backups) registerBackupRoutes(app, deps.backups);
  if (deps.taskProgress) registerTaskProgressRoutes(app, deps.taskProgress);
  if (deps.cacheAnalysis) {
    registerCacheAnalysisRoutes(app, deps.cacheAnalysis, () => new Date());
    registerHotKeyRoutes(app, deps.cacheAnalysis, () => new Date());
  }
  // Last: it answers 501 for every JD operation the modules above did not register.
  registerNotImplementedRoutes(app);
  return app;
}

function versionThisMinute(version: string | undefined): string | undefined {
  return version === undefined ? undefined : `${version}@${Math.floor(Date.now() / 60_000)}`;
}

/** The rest of preValidation once the caller is known (undefined on public routes): region, then JSON body. */
function admit(request: FastifyRequest, raw: Buffer, account: string | undefined, regions: readonly string[], done: (err?: Error) => void): void {
  if (account !== undefined) {
    request.account = account;
    // Every later line of the request (handler, errors, the closing `request` line) names its caller
    // beside its requestId, so an operator can follow one tenant's calls.
    request.log = request.log.child({ account });
    const params = request.params as { regionId?: string } | undefined;
    if (params?.regionId !== undefined) assertRegion(regions, params.regionId);
  }
  if (request.method === 'POST' || request.method === 'PATCH' || request.method === 'PUT') {
    request.body = parseJsonObject(raw);
  }
  done();
}

/** Bodies nested deeper than this are refused (the deepest real body, createCacheInstance, has 4 levels). */
const MAX_JSON_DEPTH = 32;

/** Parses a request body as a JSON object, treating JSON null as absent at every depth. */
function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new DomainError('INVALID_ARGUMENT', `malformed JSON body: ${(err as Error).message}`);
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new DomainError('INVALID_ARGUMENT', 'body: must be a JSON object');
  return stripNulls(parsed, 1) as Record<string, unknown>;
}

/** Copies a parsed JSON value without its nulls; refuses one nested deeper than MAX_JSON_DEPTH (a deep one overflowed the stack). */
function stripNulls(value: unknown, depth: number): unknown {
  if (!value || typeof value !== 'object') return value;
  if (depth > MAX_JSON_DEPTH) throw new DomainError('INVALID_ARGUMENT', `body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => stripNulls(v, depth + 1));
  const out: Record<string, unknown> = {};
  // `__proto__` from JSON.parse is an own key; copying it would set the prototype, so it is dropped.
  for (const [k, v] of Object.entries(value)) if (v !== null && k !== '__proto__') out[k] = stripNulls(v, depth + 1);
  return out;
}
