import { CACHE_ANALYSIS_TASK } from '../../domain/analysis/cache-analysis-service.ts';
import type { Thresholds } from '../../domain/analysis/analysis-rules.ts';
import { analysisOfTask, updateRunningAnalysis, type CacheAnalysisRow } from '../../store/cache-analysis-repo.ts';
import type { InstanceRecord } from '../../store/instances-repo.ts';
import { pendingTasks, type TaskRow } from '../../store/tasks-repo.ts';
import { DONE, type TaskContext, type TaskHandler } from '../task-handler.ts';
import { analysisProgress, finishResult, parseAnalysisState, tallyBatch, type AnalysisState } from './cache-analysis-state.ts';

/** One run of the task works this long at most, then yields its slot (the engine runs it again at once). */
const RUN_MS = 1_000;
/** Keys read per second at most, over the instance: the scan's load on the nodes stays small and even. */
export const ANALYSIS_KEYS_PER_SECOND = 5_000;
/** Keys per batch: one script on the node, a fraction of a millisecond of its time. */
const BATCH = 100;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Why the analysis must end now (and as what), or null. */
async function stopReason(ctx: TaskContext, row: InstanceRecord, task: TaskRow, a: CacheAnalysisRow): Promise<{ status: string; message: string } | null> {
  if (a.stop_requested) return { status: 'manual_stop', message: 'stopped by stopCacheAnalysis' };
  // Tasks of an instance run in order: an analysis must not hold back a delete or a resize.
  const later = (await pendingTasks(ctx.db, row.id)).find((t) => t.id > task.id);
  return later ? { status: 'error', message: `interrupted: a ${later.kind} of the instance was requested` } : null;
}

/**
 * cacheAnalysis (createCacheAnalysis, createBigKeyAnalysis*, the daily automatic run): scans every shard
 * (its replica when linked, so the master serves on untouched) through the driver's analysisScan, at most
 * ANALYSIS_KEYS_PER_SECOND keys a second, tallying big keys per type against the thresholds, hot keys by
 * LFU counter (LFU policies only: Redis keeps no access frequency otherwise), and the type and size
 * distributions; then ranks INFO commandstats of the masters. The tallies and cursors are saved after each
 * run, so a crash repeats at most one run. The instance's status is never changed.
 */
export const cacheAnalysisHandler: TaskHandler = {
  kind: CACHE_ANALYSIS_TASK,
  async run(ctx, row, task) {
    const a = await analysisOfTask(ctx.db, row.id, task.id);
    if (!a || a.status !== 'running') return DONE;
    const state = parseAnalysisState(a.state, ctx.spec(row).shardCount);
    const end = async (status: string, message: string, result?: unknown): Promise<void> => {
      await updateRunningAnalysis(ctx.db, a.id, {
        status,
        message,
        state: JSON.stringify(state),
        ...(result ? { result: JSON.stringify(result) } : {}),
        finished_ms: ctx.now(),
      });
      ctx.logger.info({ instanceId: row.id, analysis: a.id, status, message }, `cache analysis ${status}`);
    };
    const { analysisScan, commandStats } = ctx.driver;
    if (!analysisScan || !commandStats) {
      await end('error', `the ${ctx.driver.name} driver cannot analyse keys`);
      return DONE;
    }
    const spec = ctx.spec(row);
    const t = JSON.parse(a.thresholds) as Thresholds;
    const lfu = spec.maxmemoryPolicy.endsWith('-lfu');
    const started = ctx.now();
    let read = 0;
    for (;;) {
      const fresh = await analysisOfTask(ctx.db, row.id, task.id);
      const reason = fresh ? await stopReason(ctx, row, task, fresh) : { status: 'error', message: 'the analysis record is gone' };
      if (reason) {
        await end(reason.status, reason.message);
        return DONE;
      }
      const shard = state.shards.findIndex((s) => !s.done);
      if (shard < 0) {
        const result = finishResult(state, t, await commandStats.call(ctx.driver, spec, ctx.signal()), lfu);
        await end('success', '', result);
        return DONE;
      }
      const aheadMs = Math.ceil((read * 1_000) / ANALYSIS_KEYS_PER_SECOND) - (ctx.now() - started);
      if (ctx.now() - started + Math.max(0, aheadMs) >= RUN_MS) break;
      if (aheadMs > 0) await sleep(aheadMs);
      const s = state.shards[shard]!;
      const batch = await analysisScan.call(ctx.driver, spec, shard, s.cursor, BATCH, { frequency: lfu }, ctx.signal());
      tallyBatch(state, shard, batch, t);
      read += Math.max(batch.keys.length, 1);
    }
    await saveState(ctx, a.id, state);
    const waitMs = Math.max(0, Math.ceil((read * 1_000) / ANALYSIS_KEYS_PER_SECOND) - (ctx.now() - started));
    return { state: 'progressing', retryAfterMs: waitMs, reason: `cache analysis: ${analysisProgress(state)}% scanned` };
  },

  async giveUp(ctx, row, task, message) {
    // Nodes unreachable for long: the analysis ends; the instance's health is the health loop's business.
    const a = await analysisOfTask(ctx.db, row.id, task.id);
    if (a) await updateRunningAnalysis(ctx.db, a.id, { status: 'error', message: `analysis failed: ${message}`, finished_ms: ctx.now() });
  },
};

async function saveState(ctx: TaskContext, id: string, state: AnalysisState): Promise<void> {
  await updateRunningAnalysis(ctx.db, id, { state: JSON.stringify(state) });
}
