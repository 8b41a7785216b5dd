import type { Logger } from '../../logger.ts';
import {
  countAnalysesOfDay,
  getAnalysisSettings,
  getCacheAnalysis,
  insertCacheAnalysis,
  listCacheAnalyses,
  requestAnalysisStop,
  runningAnalysis,
  upsertAnalysisSettings,
  type CacheAnalysisRow,
} from '../../store/cache-analysis-repo.ts';
import { findInstance, type InstanceRecord } from '../../store/instances-repo.ts';
import type { Db } from '../../store/open-store.ts';
import { lockCapacity } from '../../store/store-locks.ts';
import { insertTask } from '../../store/tasks-repo.ts';
import { DomainError } from '../domain-error.ts';
import { randomAlnum } from '../ids.ts';
import type { RequestScope } from '../instances/instance-inputs.ts';
import { ANALYSES_PER_DAY, dayOf, DEFAULT_THRESHOLDS, LIST_ZONE_MIN, parseAnalysisTime, parseThresholds, type ThresholdInput, type Thresholds } from './analysis-rules.ts';
import type { AnalysisResult } from './analysis-result.ts';

/** The engine task kind that runs an analysis (engine/handlers/cache-analysis-handler.ts). */
export const CACHE_ANALYSIS_TASK = 'cacheAnalysis';

/** JD keeps analysis results 30 days. */
export const RESULT_DAYS = 30;

export interface CacheAnalysisDeps {
  db: Db;
  logger: Logger;
  /** Wakes the engine after a task was committed. */
  notifyEngine: () => void;
  now: () => Date;
  /** Called after an instance's window changed: the automatic scheduler checks at once. */
  onScheduleChanged?: () => void;
}

/** A stored analysis as the views read it. */
export interface AnalysisRecord {
  row: CacheAnalysisRow;
  thresholds: Thresholds;
  result: AnalysisResult | null;
}

export type CacheAnalysisService = ReturnType<typeof createCacheAnalysisService>;

/**
 * Cache analyses of an instance (JD's cacheAnalysis, bigKey, bigKey2 and hotKey families, one engine behind
 * them): a request and its durable engine task are written in one transaction; at most one runs per
 * instance, at most ANALYSES_PER_DAY start per day (JD's limit); results are kept RESULT_DAYS days.
 * Thresholds and the daily window are per instance, shared by every family.
 */
export function createCacheAnalysisService(deps: CacheAnalysisDeps) {
  const { db, logger } = deps;

  async function mustFind(scope: RequestScope, id: string): Promise<InstanceRecord> {
    const row = await findInstance(db, scope.account, scope.region, id);
    if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
    return row;
  }

  async function settingsOf(id: string): Promise<{ analysisTime: string; thresholds: Thresholds }> {
    const s = await getAnalysisSettings(db, id);
    return s ? { analysisTime: s.analysis_time, thresholds: JSON.parse(s.thresholds) as Thresholds } : { analysisTime: '-', thresholds: DEFAULT_THRESHOLDS };
  }

  const record = (row: CacheAnalysisRow): AnalysisRecord => ({
    row,
    thresholds: JSON.parse(row.thresholds) as Thresholds,
    result: row.status === 'success' ? (JSON.parse(row.result) as AnalysisResult) : null,
  });

  /** Starts an analysis of a running instance; returns its taskId. */
  async function start(instance: InstanceRecord, thresholds: Thresholds, automatic: boolean): Promise<string> {
    if (instance.status !== 'running') {
      throw new DomainError('FAILED_PRECONDITION', `cannot analyse cacheInstance ${instance.id} while it is ${instance.status}; allowed when running`);
    }
    const nowMs = deps.now().getTime();
    const day = dayOf(nowMs, LIST_ZONE_MIN);
    const id = `${instance.id}-ca-${randomAlnum(8)}`;
    await db.transaction().execute(async (trx) => {
      // Checked inside the transaction, after taking the capacity lock: two starts at once (also in two
      // service processes on PostgreSQL) cannot both begin an analysis or both pass the daily limit.
      await lockCapacity(trx);
      if (await runningAnalysis(trx, instance.id)) {
        throw new DomainError('FAILED_PRECONDITION', `a cache analysis of cacheInstance ${instance.id} is already running; stop it with stopCacheAnalysis or wait for it to finish`);
      }
      const today = await countAnalysesOfDay(trx, instance.id, day);
      if (today >= ANALYSES_PER_DAY) {
        throw new DomainError('QUOTA_EXCEEDED', `cacheInstance ${instance.id} had ${today} cache analyses on ${day} (+0800); at most ${ANALYSES_PER_DAY} a day`);
      }
      const taskId = await insertTask(trx, { instanceId: instance.id, kind: CACHE_ANALYSIS_TASK, payload: {}, nowMs });
      await insertCacheAnalysis(trx, {
        id,
        instance_id: instance.id,
        task_id: taskId,
        automatic: automatic ? 1 : 0,
        status: 'running',
        message: '',
        thresholds: JSON.stringify(thresholds),
        state: '{}',
        result: '{}',
        stop_requested: 0,
        day,
        started_ms: nowMs,
        finished_ms: 0,
      });
    });
    logger.info({ instanceId: instance.id, analysis: id, automatic }, 'cache analysis accepted');
    deps.notifyEngine();
    return id;
  }

  return {
    start,

    /** A manual analysis with the instance's thresholds, overridden by `input` (JD's families differ in minimums: `strict`). */
    async create(scope: RequestScope, id: string, input: ThresholdInput = {}, strict = false): Promise<string> {
      const instance = await mustFind(scope, id);
      const thresholds = parseThresholds(input, (await settingsOf(id)).thresholds, strict);
      return start(instance, thresholds, false);
    },

    async stop(scope: RequestScope, id: string): Promise<void> {
      await mustFind(scope, id);
      if (!(await requestAnalysisStop(db, id))) throw new DomainError('FAILED_PRECONDITION', `no cache analysis of cacheInstance ${id} is running`);
      logger.info({ instanceId: id }, 'cache analysis stop requested');
      deps.notifyEngine();
    },

    /** Analyses of one day (`yyyy-MM-dd`, +0800), or of the last RESULT_DAYS days; newest first. */
    async list(scope: RequestScope, id: string, day?: string): Promise<AnalysisRecord[]> {
      await mustFind(scope, id);
      const sinceMs = deps.now().getTime() - RESULT_DAYS * 86_400_000;
      return (await listCacheAnalyses(db, id, day === undefined ? { sinceMs } : { day, sinceMs })).map(record);
    },

    async get(scope: RequestScope, id: string, taskId: string): Promise<AnalysisRecord> {
      await mustFind(scope, id);
      const row = await getCacheAnalysis(db, id, taskId);
      if (!row || Number(row.started_ms) < deps.now().getTime() - RESULT_DAYS * 86_400_000) {
        throw new DomainError('NOT_FOUND', `cache analysis ${taskId} of cacheInstance ${id} not found (results are kept ${RESULT_DAYS} days)`);
      }
      return record(row);
    },

    /** Successful analyses that started in [fromMs, toMs], newest first. */
    async succeededBetween(scope: RequestScope, id: string, fromMs: number, toMs: number): Promise<AnalysisRecord[]> {
      await mustFind(scope, id);
      const rows = await listCacheAnalyses(db, id, { sinceMs: fromMs });
      return rows.filter((r) => r.status === 'success' && Number(r.started_ms) <= toMs).map(record);
    },

    async thresholds(scope: RequestScope, id: string): Promise<Thresholds> {
      await mustFind(scope, id);
      return (await settingsOf(id)).thresholds;
    },

    async setThresholds(scope: RequestScope, id: string, input: ThresholdInput, strict: boolean): Promise<void> {
      await mustFind(scope, id);
      const current = await settingsOf(id);
      const thresholds = parseThresholds(input, current.thresholds, strict);
      await upsertAnalysisSettings(db, { instance_id: id, analysis_time: current.analysisTime, thresholds: JSON.stringify(thresholds) });
    },

    async analysisTime(scope: RequestScope, id: string): Promise<string> {
      await mustFind(scope, id);
      return (await settingsOf(id)).analysisTime;
    },

    async setAnalysisTime(scope: RequestScope, id: string, value: string): Promise<void> {
      parseAnalysisTime('analysisTime', value);
      await mustFind(scope, id);
      const current = await settingsOf(id);
      await upsertAnalysisSettings(db, { instance_id: id, analysis_time: value, thresholds: JSON.stringify(current.thresholds) });
      logger.info({ instanceId: id, analysisTime: value }, 'automatic cache analysis window set');
      deps.onScheduleChanged?.();
    },
  };
}
