import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { InstanceService } from '../../domain/instances/instance-service.ts';
import { RegionParams } from '../schemas.ts';

const tags = ['catalogue'];

/**
 * What can be bought where (reference §5 ops 1-3, 62): describeAvailableRegion,
 * describeAvailableResource (and describeAvailableResource2), describeSpecConfig, all answered from the service's own regions and class
 * catalogue. None takes a parameter but the region.
 */
export function registerCatalogueRoutes(appIn: FastifyInstance, instances: InstanceService, regions: readonly string[]): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/regions/:regionId/availableRegion',
    { schema: { operationId: 'describeAvailableRegion', tags, params: RegionParams } },
    async (request) => ({ requestId: request.id, result: await instances.availableRegions(request.account, regions) }),
  );

  app.get(
    '/v1/regions/:regionId/availableResource',
    { schema: { operationId: 'describeAvailableResource', tags, params: RegionParams } },
    async (request) => ({ requestId: request.id, result: instances.availableResources(request.params.regionId) }),
  );

  // The second version has the same result model (Go SDK: both answer AvailableResource[]).
  app.get(
    '/v1/regions/:regionId/availableResource2',
    { schema: { operationId: 'describeAvailableResource2', tags, params: RegionParams } },
    async (request) => ({ requestId: request.id, result: instances.availableResources(request.params.regionId) }),
  );

  app.get(
    '/v1/regions/:regionId/specConfig',
    { schema: { operationId: 'describeSpecConfig', tags, params: RegionParams } },
    async (request) => ({ requestId: request.id, result: instances.specConfig(request.params.regionId) }),
  );
}
