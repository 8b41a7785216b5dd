import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { ClearDataService } from '../../domain/clear-data/clear-data-service.ts';
import { DescribeClearDataResponse, StartClearDataBody } from '../clear-data-schemas.ts';
import { InstanceParams, Responses } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

const tags = ['clearData'];

/** The data purge (reference §5 ops 38-40): startClearData, stopClearData, describeClearData. */
export function registerClearDataRoutes(appIn: FastifyInstance, purges: ClearDataService): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    `${INSTANCE_PATH}/startClearData`,
    { schema: { operationId: 'startClearData', tags, params: InstanceParams, body: StartClearDataBody, response: Responses.noResult } },
    async (request) => {
      await purges.start(callerScope(request), request.params.cacheInstanceId, request.body);
      return { requestId: request.id };
    },
  );

  app.post(
    `${INSTANCE_PATH}/stopClearData`,
    { schema: { operationId: 'stopClearData', tags, params: InstanceParams, response: Responses.noResult } },
    async (request) => {
      await purges.stop(callerScope(request), request.params.cacheInstanceId);
      return { requestId: request.id };
    },
  );

  app.get(
    `${INSTANCE_PATH}/describeClearData`,
    { schema: { operationId: 'describeClearData', tags, params: InstanceParams, response: DescribeClearDataResponse } },
    async (request) => {
      const info = await purges.describe(callerScope(request), request.params.cacheInstanceId);
      return { requestId: request.id, result: info ? { ...info, clearDataTaskInfo: info } : {} };
    },
  );
}
