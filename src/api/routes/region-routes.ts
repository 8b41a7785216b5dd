import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { InstanceService } from '../../domain/instances/instance-service.ts';
import { InstanceClassQuery, RegionParams, Responses } from '../schemas.ts';
import { callerScope } from './caller-scope.ts';

/** describeInstanceClass and describeUserQuota: region-level reads. */
export function registerRegionRoutes(appIn: FastifyInstance, instances: InstanceService): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/regions/:regionId/instanceClass',
    { schema: { operationId: 'describeInstanceClass', tags: ['catalogue'], params: RegionParams, querystring: InstanceClassQuery, response: Responses.instanceClasses } },
    async (request) => ({ requestId: request.id, result: instances.instanceClasses(request.query.redisVersion ?? '2.8') }),
  );

  app.get(
    '/v1/regions/:regionId/quota',
    { schema: { operationId: 'describeUserQuota', tags: ['catalogue'], params: RegionParams } },
    async (request) => ({
      requestId: request.id,
      result: await instances.quota(callerScope(request)),
    }),
  );
}
