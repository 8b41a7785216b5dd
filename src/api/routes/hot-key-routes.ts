import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { hotKeyNodes, hotKeysOf } from '../../domain/analysis/analysis-views.ts';
import { RESULT_DAYS, type CacheAnalysisService } from '../../domain/analysis/cache-analysis-service.ts';
import { DomainError } from '../../domain/domain-error.ts';
import { parseJdTime } from '../../domain/time-format.ts';
import { AnalysisResponses, HotKeyDetailQuery, HotKeyWindowDetailQuery, WindowQuery } from '../analysis-schemas.ts';
import { InstanceParams } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

const tags = ['hotKey'];
const DAY_MS = 86_400_000;
/** JD: a summary window reaches at most 30 days back and spans at most 7 days. */
const MAX_SPAN_DAYS = 7;

/**
 * Hot keys (reference §5 ops 56-59), from the cache analyses' LFU counters: the latest successful
 * analysis (the *2 operations) or the successful ones that started in a window (default: the last day).
 * An instance without an LFU policy has no hot keys to report: Redis keeps no access frequency then.
 */
export function registerHotKeyRoutes(appIn: FastifyInstance, analyses: CacheAnalysisService, now: () => Date): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const P = INSTANCE_PATH;

  function windowOf(q: { startTime?: string; endTime?: string }): { from: number; to: number } {
    const nowMs = now().getTime();
    const to = parseJdTime(q.endTime, 'endTime') ?? nowMs;
    const from = parseJdTime(q.startTime, 'startTime') ?? to - DAY_MS;
    if (to < from) throw new DomainError('INVALID_ARGUMENT', 'endTime: must not be before startTime');
    if (from < nowMs - RESULT_DAYS * DAY_MS) throw new DomainError('INVALID_ARGUMENT', `startTime: must be within the last ${RESULT_DAYS} days`);
    if (to - from > MAX_SPAN_DAYS * DAY_MS) throw new DomainError('INVALID_ARGUMENT', `endTime: the window must span at most ${MAX_SPAN_DAYS} days`);
    return { from, to };
  }

  const latest = async (request: { account: string; params: { regionId: string; cacheInstanceId: string } }) => {
    const runs = await analyses.succeededBetween(callerScope(request), request.params.cacheInstanceId, now().getTime() - RESULT_DAYS * DAY_MS, now().getTime());
    return runs.slice(0, 1);
  };
  const page = <T>(list: T[], q: { pageNumber?: number; pageSize?: number }) => {
    const { pageNumber = 1, pageSize = 10 } = q;
    return { hotHeys: list.slice((pageNumber - 1) * pageSize, pageNumber * pageSize), totalCount: list.length };
  };

  app.get(`${P}/hotKeyAnalysisResult`, { schema: { operationId: 'describeHotKeyResult2', tags, params: InstanceParams, response: AnalysisResponses.hotNodes } }, async (request) => ({
    requestId: request.id,
    result: { hotKeyAnalysisNodesList: hotKeyNodes(request.params.cacheInstanceId, await latest(request)) },
  }));
  app.get(
    `${P}/hotKeyDetail`,
    { schema: { operationId: 'describeHotKeyDetail2', tags, params: InstanceParams, querystring: HotKeyDetailQuery, response: AnalysisResponses.hotKeys } },
    async (request) => ({
      requestId: request.id,
      result: page(hotKeysOf(request.params.cacheInstanceId, request.query.nodeId, await latest(request)), request.query),
    }),
  );
  app.get(
    `${P}/hotKeyAnalysisSummary`,
    { schema: { operationId: 'describeHotKeySummary', tags, params: InstanceParams, querystring: WindowQuery, response: AnalysisResponses.hotNodes } },
    async (request) => {
      const { from, to } = windowOf(request.query);
      const runs = await analyses.succeededBetween(callerScope(request), request.params.cacheInstanceId, from, to);
      return { requestId: request.id, result: { hotKeyAnalysisNodesList: hotKeyNodes(request.params.cacheInstanceId, runs) } };
    },
  );
  app.get(
    `${P}/hotKeyAnalysisDetail`,
    { schema: { operationId: 'describeHotKeyDetail', tags, params: InstanceParams, querystring: HotKeyWindowDetailQuery, response: AnalysisResponses.hotKeys } },
    async (request) => {
      const { from, to } = windowOf(request.query);
      const runs = await analyses.succeededBetween(callerScope(request), request.params.cacheInstanceId, from, to);
      return { requestId: request.id, result: page(hotKeysOf(request.params.cacheInstanceId, request.query.nodeId, runs), request.query) };
    },
  );
}
