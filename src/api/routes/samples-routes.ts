import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { InstanceService } from '../../domain/instances/instance-service.ts';
import type { AppDeps } from '../build-app.ts';
import { InstanceParams, envelope } from '../schemas.ts';
import { callerScope } from './caller-scope.ts';

/**
 * Not a JD operation: a jcs extension under its own prefix (so it can never collide with one JD adds),
 * signed and scoped exactly like them. The console's charts read it.
 */
export const SAMPLES_PATH = '/jcs/v1/regions/:regionId/cacheInstance/:cacheInstanceId/samples';

const count = Type.Union([Type.Number(), Type.Null()]);
const NodeSample = Type.Object({
  port: Type.Integer({ description: 'client port of the node' }),
  role: Type.Union([Type.Literal('master'), Type.Literal('replica'), Type.Literal('down')]),
  shard: Type.Union([Type.Integer(), Type.Null()], { description: 'shard index (null when unknown)' }),
  usedMemoryBytes: count,
  maxmemoryBytes: count,
  connectedClients: count,
  opsPerSec: count,
  keyspaceHits: Type.Union([Type.Number(), Type.Null()], { description: 'total since the node started' }),
  keyspaceMisses: Type.Union([Type.Number(), Type.Null()], { description: 'total since the node started' }),
  evictedKeys: count,
  replOffsetLag: Type.Union([Type.Number(), Type.Null()], { description: 'replica: bytes behind its master; null for a master' }),
  up: Type.Boolean(),
});
const SamplesResult = envelope(
  Type.Object({
    samples: Type.Array(Type.Object({ at: Type.Integer({ description: 'epoch milliseconds' }), nodes: Type.Array(NodeSample) }), {
      description: 'oldest first: one per 10 s for the last hour, then the latest',
    }),
  }),
);
const SamplesQuery = Type.Object({
  sinceMs: Type.Optional(Type.Integer({ minimum: 0, description: 'only samples taken after this time (epoch milliseconds)' })),
});

/**
 * describeInstanceSamples: what the health loop saw of each node (ops/s, memory, clients, hits, lag),
 * for the console's live charts. Reading never reaches Redis; the instance must be the caller's
 * (another account's is NOT_FOUND, as for every operation).
 */
export function registerSamplesRoutes(appIn: FastifyInstance, instances: InstanceService, samples: NonNullable<AppDeps['samples']>): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    SAMPLES_PATH,
    {
      schema: {
        operationId: 'describeInstanceSamples',
        tags: ['console'],
        summary: 'jcs extension: the last hour of health-check samples of an instance (for charts)',
        params: InstanceParams,
        querystring: SamplesQuery,
        response: SamplesResult,
      },
    },
    async (request) => {
      const id = request.params.cacheInstanceId;
      await instances.describe(callerScope(request), id);
      // Only the fields documented above go out (the engine's own `slot` stays inside).
      const found = samples.history(id, request.query.sinceMs);
      return { requestId: request.id, result: { samples: found } };
    },
  );
}
