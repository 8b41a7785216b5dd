import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClearDataService } from '../../domain/clear-data/clear-data-service.ts';
import { DescribeClearDataResponse, StartClearDataBody } from '../clear-data-schemas.ts';
import { InstanceParams, Responses } from '../schemas.ts';

const BASE = '/v1/regions/:regionId/cacheInstance/:cacheInstanceId';
const tags = ['clearData'];

/** The data purge (reference §5 ops 38-40): startClearData, stopClearData, describeClearData. */
export function registerClearDataRoutes(appIn: FastifyInstance, purges: ClearDataService): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    `${BASE}/startClearData`,
    { schema: { operationId: 'startClearData', tags, params: InstanceParams, body: StartClearDataBody, response: Responses.noResult } },
    async (request) => {
      await purges.start({ account: request.account, region: request.params.regionId }, request.params.cacheInstanceId, request.body);
      return { requestId: request.id };
    },
  );

  app.post(
    `${BASE}/stopClearData`,
    { schema: { operationId: 'stopClearData', tags, params: InstanceParams, response: Responses.noResult } },
    async (request) => {
      await purges.stop({ account: request.account, region: request.params.regionId }, request.params.cacheInstanceId);
      return { requestId: request.id };
    },
  );

  app.get(
    `${BASE}/describeClearData`,
    { schema: { operationId: 'describeClearData', tags, params: InstanceParams, response: DescribeClearDataResponse } },
    async (request) => {
      const info = await purges.describe({ account: request.account, region: request.params.regionId }, request.params.cacheInstanceId);
      return { requestId: request.id, result: info ? { ...info, clearDataTaskInfo: info } : {} };
    },
  );
}
