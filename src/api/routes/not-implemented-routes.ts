import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { DomainError } from '../../domain/domain-error.ts';
import { JD_OPERATIONS, routeUrlOf } from '../jd-operations.ts';

/**
 * Every operation of JD's Redis API that no route module implements answers 501 NOT_IMPLEMENTED
 * naming the operation (JD's code for it), so a client can tell "not offered here" from an unknown
 * instance (404). Registered after every other route module: whatever is registered by then is
 * implemented. Authentication still runs first (the routes are not public), so an unsigned call is 401.
 * Returns the names it answered for.
 */
export function registerNotImplementedRoutes(app: FastifyInstance): string[] {
  const answered: string[] = [];
  for (const op of JD_OPERATIONS) {
    const url = routeUrlOf(op.path);
    if (app.hasRoute({ method: op.method, url })) continue;
    answered.push(op.name);
    const params = Type.Object(Object.fromEntries([...url.matchAll(/:(\w+)/g)].map((m) => [m[1]!, Type.String({ maxLength: 100 })])));
    app.route({
      method: op.method,
      url,
      schema: { operationId: op.name, tags: ['not implemented'], summary: `${op.name}: not implemented (501 NOT_IMPLEMENTED)`, params },
      handler: async () => {
        throw new DomainError('NOT_IMPLEMENTED', `${op.name} (${op.method} ${op.path}) is not implemented by this service yet`);
      },
    });
  }
  return answered;
}
