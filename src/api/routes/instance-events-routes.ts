import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { InstanceEvent } from '../../domain/instances/instance-events.ts';
import { InstanceParams } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

const EventsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: 'an integer from 1 to 200' })),
});

/** Reads one of the caller's instances' recent events; NOT_FOUND for another account's. */
export type ListInstanceEvents = (scope: { account: string; region: string }, id: string, limit: number) => Promise<InstanceEvent[]>;

/**
 * GET …/cacheInstance/{id}/events (an extension, not one of JD's 62 operations, so not in /openapi.json):
 * the instance's recent history for `jcs-redis events` and the console. Signed and scoped like every
 * instance operation.
 */
export function registerInstanceEventsRoutes(appIn: FastifyInstance, list: ListInstanceEvents): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    `${INSTANCE_PATH}/events`,
    { schema: { operationId: 'describeInstanceEvents', hide: true, params: InstanceParams, querystring: EventsQuery } },
    async (request) => ({
      requestId: request.id,
      result: { events: await list(callerScope(request), request.params.cacheInstanceId, request.query.limit ?? 50) },
    }),
  );
}
