import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { parseDay } from '../../domain/analysis/analysis-rules.ts';
import { analysisListItem, bigKeyDetail, bigKeyDetail2, bigKeyListItem2, cacheAnalysisResult } from '../../domain/analysis/analysis-views.ts';
import type { AnalysisRecord, CacheAnalysisService } from '../../domain/analysis/cache-analysis-service.ts';
import { DomainError } from '../../domain/domain-error.ts';
import { AnalysisResponses, AnalysisTimeBody, DateQuery, PageQuery, TaskIdParams, TaskIdQuery, ThresholdsBody } from '../analysis-schemas.ts';
import { InstanceParams, Responses } from '../schemas.ts';
import { callerScope, INSTANCE_PATH } from './caller-scope.ts';

const tags = ['cacheAnalysis'];

/** JD answers a result only for a run that succeeded. */
function mustHaveSucceeded(a: AnalysisRecord): AnalysisRecord {
  if (a.row.status !== 'success') {
    throw new DomainError('FAILED_PRECONDITION', `cache analysis ${a.row.id} is ${a.row.status}${a.row.message ? ` (${a.row.message})` : ''}; a result exists only once it succeeded`);
  }
  return a;
}

/**
 * Cache analysis (reference §5 ops 13-17 and 41-55): the cacheAnalysis, bigKey and bigKeyAnalysis families,
 * their thresholds and daily windows, and stopCacheAnalysis. One analysis engine behind all of them.
 */
export function registerCacheAnalysisRoutes(appIn: FastifyInstance, analyses: CacheAnalysisService, now: () => Date): void {
  const app = appIn.withTypeProvider<TypeBoxTypeProvider>();
  const P = INSTANCE_PATH;

  // The daily window: one per instance, whichever family sets or reads it.
  for (const [suffix, read, write] of [
    ['analysisTime', 'describeAnalysisTime', 'modifyAnalysisTime'],
    ['bigKeyAutoAnalysisTime', 'describeBigKeyAnalysisTime', 'modifyBigKeyAnalysisTime'],
    ['bigKeyAnalysisTime', 'describeBigKeyAnalysisTime2', 'modifyBigKeyAnalysisTime2'],
  ] as const) {
    app.get(`${P}/${suffix}`, { schema: { operationId: read, tags, params: InstanceParams, response: AnalysisResponses.time } }, async (request) => ({
      requestId: request.id,
      result: { time: await analyses.analysisTime(callerScope(request), request.params.cacheInstanceId) },
    }));
    app.post(`${P}/${suffix}`, { schema: { operationId: write, tags, params: InstanceParams, body: AnalysisTimeBody, response: Responses.noResult } }, async (request) => {
      await analyses.setAnalysisTime(callerScope(request), request.params.cacheInstanceId, request.body.analysisTime);
      return { requestId: request.id };
    });
  }

  // Starting a run: the first two families take the instance's thresholds (bigKey: overridden by the body).
  app.post(`${P}/cacheAnalysis`, { schema: { operationId: 'createCacheAnalysis', tags, params: InstanceParams, response: AnalysisResponses.started } }, async (request) => ({
    requestId: request.id,
    result: { taskId: await analyses.create(callerScope(request), request.params.cacheInstanceId) },
  }));
  app.post(`${P}/bigKey`, { schema: { operationId: 'createBigKeyAnalysis', tags, params: InstanceParams, body: ThresholdsBody, response: AnalysisResponses.started } }, async (request) => ({
    requestId: request.id,
    result: { taskId: await analyses.create(callerScope(request), request.params.cacheInstanceId, request.body) },
  }));
  app.post(
    `${P}/bigKeyAnalysis`,
    { schema: { operationId: 'createBigKeyAnalysis2', tags, params: InstanceParams, body: ThresholdsBody, response: AnalysisResponses.started } },
    async (request) => {
      const { top: _top, ...sizes } = request.body;
      return { requestId: request.id, result: { taskId: await analyses.create(callerScope(request), request.params.cacheInstanceId, sizes, true) } };
    },
  );
  app.post(`${P}/stopCacheAnalysis`, { schema: { operationId: 'stopCacheAnalysis', tags, params: InstanceParams, response: Responses.noResult } }, async (request) => {
    await analyses.stop(callerScope(request), request.params.cacheInstanceId);
    return { requestId: request.id };
  });

  // Lists by day (first two families) and paged (bigKeyAnalysis).
  for (const [suffix, op] of [
    ['cacheAnalysis', 'describeCacheAnalysisList'],
    ['bigKey', 'describeBigKeyList'],
  ] as const) {
    app.get(`${P}/${suffix}`, { schema: { operationId: op, tags, params: InstanceParams, querystring: DateQuery, response: AnalysisResponses.list } }, async (request) => {
      const day = parseDay(request.query.date);
      const list = await analyses.list(callerScope(request), request.params.cacheInstanceId, day);
      return { requestId: request.id, result: { analyses: list.map(analysisListItem) } };
    });
  }
  app.get(
    `${P}/bigKeyAnalysisResultList`,
    { schema: { operationId: 'describeBigKeyList2', tags, params: InstanceParams, querystring: PageQuery, response: AnalysisResponses.list2 } },
    async (request) => {
      const { pageNumber = 1, pageSize = 10 } = request.query;
      const list = await analyses.list(callerScope(request), request.params.cacheInstanceId);
      const nowMs = now().getTime();
      const page = list.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
      return { requestId: request.id, result: { cacheAnalysisList: page.map((a) => bigKeyListItem2(a, nowMs)), totalCount: list.length } };
    },
  );

  // Results.
  app.get(
    `${P}/cacheAnalysis/:taskId`,
    { schema: { operationId: 'describeCacheAnalysisResult', tags, params: TaskIdParams, response: AnalysisResponses.result } },
    async (request) => ({
      requestId: request.id,
      result: cacheAnalysisResult(mustHaveSucceeded(await analyses.get(callerScope(request), request.params.cacheInstanceId, request.params.taskId))),
    }),
  );
  app.get(
    `${P}/bigKeyDetail`,
    { schema: { operationId: 'describeBigKeyDetail', tags, params: InstanceParams, querystring: TaskIdQuery, response: AnalysisResponses.bigKeyDetail } },
    async (request) => ({
      requestId: request.id,
      result: bigKeyDetail(mustHaveSucceeded(await analyses.get(callerScope(request), request.params.cacheInstanceId, request.query.taskId))),
    }),
  );
  app.get(
    `${P}/bigKeyAnalysisDetail`,
    { schema: { operationId: 'describeBigKeyDetail2', tags, params: InstanceParams, querystring: TaskIdQuery, response: AnalysisResponses.detail2 } },
    async (request) => ({
      requestId: request.id,
      // Any status: this family's detail reports running and stopped runs too.
      result: bigKeyDetail2(await analyses.get(callerScope(request), request.params.cacheInstanceId, request.query.taskId), now().getTime()),
    }),
  );

  // Thresholds: one set per instance; the first family also has `top` (answered as topSize).
  app.get(
    `${P}/cacheAnalysisThreshold`,
    { schema: { operationId: 'describeAnalysisThreshold', tags, params: InstanceParams, response: AnalysisResponses.thresholds } },
    async (request) => {
      const { top, ...sizes } = await analyses.thresholds(callerScope(request), request.params.cacheInstanceId);
      return { requestId: request.id, result: { ...sizes, topSize: top } };
    },
  );
  app.post(
    `${P}/cacheAnalysisThreshold`,
    { schema: { operationId: 'modifyAnalysisThreshold', tags, params: InstanceParams, body: ThresholdsBody, response: Responses.noResult } },
    async (request) => {
      await analyses.setThresholds(callerScope(request), request.params.cacheInstanceId, request.body, false);
      return { requestId: request.id };
    },
  );
  app.get(
    `${P}/bigKeyAnalysisThreshold`,
    { schema: { operationId: 'describeAnalysisThreshold2', tags, params: InstanceParams, response: AnalysisResponses.thresholds2 } },
    async (request) => {
      const { top: _top, ...sizes } = await analyses.thresholds(callerScope(request), request.params.cacheInstanceId);
      return { requestId: request.id, result: sizes };
    },
  );
  app.post(
    `${P}/bigKeyAnalysisThreshold`,
    { schema: { operationId: 'modifyAnalysisThreshold2', tags, params: InstanceParams, body: ThresholdsBody, response: Responses.noResult } },
    async (request) => {
      const { top: _top, ...sizes } = request.body;
      await analyses.setThresholds(callerScope(request), request.params.cacheInstanceId, sizes, true);
      return { requestId: request.id };
    },
  );
}
