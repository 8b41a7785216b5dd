import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DomainError } from '../../domain/domain-error.ts';
import type { InstanceService } from '../../domain/instances/instance-service.ts';
import { parseListQuery } from '../list-query.ts';
import type { ResponseCache } from '../response-cache.ts';
import {
  CreateBody,
  InstanceParams,
  ListQuery,
  ModifyAttributeBody,
  ModifyClassBody,
  ModifyIpWhiteListBody,
  RegionParams,
  ResetPasswordBody,
  Responses,
} from '../schemas.ts';
import { callerScope } from './caller-scope.ts';


const BASE = '/v1/regions/:regionId/cacheInstance';
const tags = ['cacheInstance'];

/** The cacheInstance operations (the white list's two among them); every handler is scoped to the caller's account and the path region. */
export function registerInstanceRoutes(appIn: FastifyInstance, instances: InstanceService, reads: ResponseCache): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    BASE,
    { schema: { operationId: 'createCacheInstance', tags, params: RegionParams, body: CreateBody, response: Responses.create } },
    async (request) => {
      const scope = callerScope(request);
      const result = await instances.create(scope, request.body.cacheInstance, request.body.charge);
      return { requestId: request.id, result };
    },
  );

  app.get(
    BASE,
    { schema: { operationId: 'describeCacheInstances', tags, params: RegionParams, querystring: ListQuery, response: Responses.list } },
    async (request, reply) => {
      const scope = callerScope(request);
      // The raw query string is the key, so a repeated page skips parsing too (the same page asked with
      // its keys in another order is another entry). Only a read that succeeded is cached, so a
      // query that fails validation is parsed, and refused, every time.
      const at = request.url.indexOf('?');
      const key = `list\n${scope.account}\n${scope.region}\n${at < 0 ? '' : request.url.slice(at + 1)}`;
      return reads.send(request, reply, key, () => instances.list(parseListQuery(request.query as Record<string, unknown>, scope)));
    },
  );

  app.get(
    `${BASE}/:cacheInstanceId`,
    { schema: { operationId: 'describeCacheInstance', tags, params: InstanceParams, response: Responses.describe } },
    async (request, reply) => {
      const scope = callerScope(request);
      const id = request.params.cacheInstanceId;
      return reads.send(request, reply, `describe\n${scope.account}\n${scope.region}\n${id}`, async () => ({
        cacheInstance: await instances.describe(scope, id),
      }));
    },
  );

  app.delete(
    `${BASE}/:cacheInstanceId`,
    { schema: { operationId: 'deleteCacheInstance', tags, params: InstanceParams, response: Responses.noResult } },
    async (request) => {
      await instances.delete(callerScope(request), request.params.cacheInstanceId);
      return { requestId: request.id };
    },
  );

  app.patch(
    `${BASE}/:cacheInstanceId`,
    { schema: { operationId: 'modifyCacheInstanceAttribute', tags, params: InstanceParams, body: ModifyAttributeBody, response: Responses.noResult } },
    async (request) => {
      if (request.body.cacheInstanceName === undefined && request.body.cacheInstanceDescription === undefined) {
        throw new DomainError('INVALID_ARGUMENT', 'body: give at least one of cacheInstanceName and cacheInstanceDescription');
      }
      await instances.modifyAttribute(callerScope(request), request.params.cacheInstanceId, request.body);
      return { requestId: request.id };
    },
  );

  app.post(
    `${BASE}/:cacheInstanceId/~modifyCacheInstanceClass`,
    { schema: { operationId: 'modifyCacheInstanceClass', tags, params: InstanceParams, body: ModifyClassBody, response: Responses.modifyClass } },
    async (request) => {
      const scope = callerScope(request);
      return { requestId: request.id, result: await instances.modifyClass(scope, request.params.cacheInstanceId, request.body) };
    },
  );

  app.get(
    `${BASE}/:cacheInstanceId/ipWhiteList`,
    { schema: { operationId: 'describeIpWhiteList', tags, params: InstanceParams, response: Responses.ipWhiteList } },
    async (request) => {
      const scope = callerScope(request);
      return { requestId: request.id, result: await instances.describeIpWhiteList(scope, request.params.cacheInstanceId) };
    },
  );

  app.patch(
    `${BASE}/:cacheInstanceId/ipWhiteList`,
    { schema: { operationId: 'modifyIpWhiteList', tags, params: InstanceParams, body: ModifyIpWhiteListBody, response: Responses.noResult } },
    async (request) => {
      const scope = callerScope(request);
      await instances.modifyIpWhiteList(scope, request.params.cacheInstanceId, request.body.ipWhiteList);
      return { requestId: request.id };
    },
  );

  app.post(
    `${BASE}/:cacheInstanceId/~resetCacheInstancePassword`,
    { schema: { operationId: 'resetCacheInstancePassword', tags, params: InstanceParams, body: ResetPasswordBody, response: Responses.noResult } },
    async (request) => {
      const scope = callerScope(request);
      await instances.resetPassword(scope, request.params.cacheInstanceId, request.body.password || undefined);
      return { requestId: request.id };
    },
  );
}
