import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { DiagnosticsService } from '../../domain/diagnostics/diagnostics-service.ts';
import { InstanceParams, envelope } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

/* Request and response schemas of the diagnostics operations (reference §5 ops 18, 19, 26, 29). */
const SlowLogQuery = Type.Object({
  pageNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'an integer from 1 to 1000000' })),
  pageSize: Type.Optional(Type.Integer({ minimum: 10, maximum: 100, description: 'an integer from 10 to 100' })),
  startTime: Type.Optional(Type.String({ maxLength: 64, description: 'an ISO 8601 time such as 2026-01-02T03:04:05Z' })),
  endTime: Type.Optional(Type.String({ maxLength: 64, description: 'an ISO 8601 time such as 2026-01-02T03:04:05Z' })),
  shardId: Type.Optional(Type.String({ maxLength: 128, description: 'a shardId from describeClusterInfo' })),
  shardAddr: Type.Optional(Type.String({ maxLength: 128, description: 'a node address host:port from describeClusterInfo' })),
});
const ClientIpDetailBody = Type.Object({ ip: Type.String({ minLength: 1, maxLength: 64, description: 'an IPv4 or IPv6 address' }) });

const Responses = {
  slowLog: envelope(
    Type.Object({
      slowLogs: Type.Array(
        Type.Object({ command: Type.String(), startTime: Type.String(), executionTime: Type.String(), shardId: Type.String(), clientAddr: Type.String(), clientName: Type.String() }),
      ),
      totalCount: Type.Integer(),
    }),
  ),
  clientList: envelope(Type.Object({ ips: Type.Array(Type.Object({ ip: Type.String(), clientCount: Type.Integer() })) })),
  clientIpDetail: envelope(
    Type.Object({
      details: Type.Array(
        Type.Object({ name: Type.String(), port: Type.String(), age: Type.String(), idle: Type.String(), db: Type.String(), lastCmd: Type.String(), shardId: Type.String() }),
      ),
    }),
  ),
  clusterInfo: envelope(
    Type.Object({
      info: Type.Object({
        proxies: Type.Array(Type.Object({ id: Type.String(), address: Type.String(), status: Type.String() })),
        shards: Type.Array(Type.Object({ id: Type.String() })),
        redis: Type.Array(Type.Object({ id: Type.String(), shardId: Type.String(), role: Type.String(), address: Type.String() })),
      }),
    }),
  ),
};

const tags = ['diagnostics'];

/** Slow log, client connections and topology of an instance, read live from its nodes; scoped to the caller. */
export function registerDiagnosticsRoutes(appIn: FastifyInstance, diagnostics: DiagnosticsService): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();

  app.get(`${INSTANCE_PATH}/slowLog`, { schema: { operationId: 'describeSlowLog', tags, params: InstanceParams, querystring: SlowLogQuery, response: Responses.slowLog } }, async (request) => ({
    requestId: request.id,
    result: await diagnostics.slowLog(callerScope(request), request.params.cacheInstanceId, request.query),
  }));

  app.get(`${INSTANCE_PATH}/clientList`, { schema: { operationId: 'describeClientList', tags, params: InstanceParams, response: Responses.clientList } }, async (request) => ({
    requestId: request.id,
    result: await diagnostics.clientList(callerScope(request), request.params.cacheInstanceId),
  }));

  app.post(
    `${INSTANCE_PATH}/clientIpDetail`,
    { schema: { operationId: 'describeClientIpDetail', tags, params: InstanceParams, body: ClientIpDetailBody, response: Responses.clientIpDetail } },
    async (request) => ({
      requestId: request.id,
      result: await diagnostics.clientIpDetail(callerScope(request), request.params.cacheInstanceId, request.body.ip),
    }),
  );

  app.get(`${INSTANCE_PATH}/clusterInfo`, { schema: { operationId: 'describeClusterInfo', tags, params: InstanceParams, response: Responses.clusterInfo } }, async (request) => ({
    requestId: request.id,
    result: await diagnostics.clusterInfo(callerScope(request), request.params.cacheInstanceId),
  }));
}
