import Fastify, { type FastifyInstance } from 'fastify';
import { newRequestId } from '../domain/ids.ts';
import { DomainError } from '../domain/domain-error.ts';
import { sendError } from './error-envelope.ts';
import { registerMetricsRoute, type MetricsAccess, type MetricsEndpoint } from './routes/metrics-routes.ts';

/**
 * A listener of its own for `/metrics` (JCS_METRICS_PORT), apart from the API: an operator can bind it
 * where only the monitoring network reaches it. It answers nothing else.
 */
export async function buildMetricsApp(metrics: MetricsEndpoint, access: MetricsAccess): Promise<FastifyInstance> {
  const app = Fastify({ genReqId: () => newRequestId(), bodyLimit: 1024 });
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request, reply) => sendError(new DomainError('NOT_FOUND', 'only GET /metrics is served here'), request, reply));
  registerMetricsRoute(app, metrics, access);
  await app.ready();
  return app;
}
