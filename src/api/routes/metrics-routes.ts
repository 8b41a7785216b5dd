import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../domain/domain-error.ts';

/** What `/metrics` needs: the text a scrape gets (metrics/service-metrics.ts renders it). */
export interface MetricsEndpoint {
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Who may scrape. With a `token` (`JCS_METRICS_TOKEN`), only requests carrying
 * `Authorization: Bearer <token>`. Without one: everyone who reaches the listener when `anyClient`
 * (the operator gave metrics their own bind), else clients on this host only: the API port may face
 * tenants, and the per-instance series name every account's instances.
 */
export interface MetricsAccess {
  token?: string | undefined;
  anyClient: boolean;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

const isLoopback = (ip: string): boolean => ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');

/** Throws ACCESS_ERROR unless the request may read the metrics; the message never echoes what was sent. */
export function checkMetricsAccess(request: FastifyRequest, access: MetricsAccess): void {
  if (access.token) {
    const header = request.headers.authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    // Compared as digests: constant time whatever the lengths.
    if (!timingSafeEqual(digest(given), digest(access.token))) {
      throw new DomainError('ACCESS_ERROR', 'metrics need the header Authorization: Bearer <JCS_METRICS_TOKEN>');
    }
    return;
  }
  if (!access.anyClient && !isLoopback(request.ip)) {
    throw new DomainError('ACCESS_ERROR', 'metrics are served to this host only; set JCS_METRICS_TOKEN or JCS_METRICS_PORT to scrape from elsewhere');
  }
}

/** GET /metrics: Prometheus text format. Public to the signature check; guarded by `access` instead. */
export function registerMetricsRoute(app: FastifyInstance, metrics: MetricsEndpoint, access: MetricsAccess): void {
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    checkMetricsAccess(request, access);
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
