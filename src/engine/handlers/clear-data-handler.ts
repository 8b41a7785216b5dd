import { getClearData, updateClearData } from '../../store/clear-data-repo.ts';
import { pendingTasks } from '../../store/tasks-repo.ts';
import { DONE, type TaskContext, type TaskHandler } from '../task-handler.ts';
import type { InstanceRecord } from '../../store/instances-repo.ts';
import type { TaskRow } from '../../store/tasks-repo.ts';
import { parsePurgeState, purgeFilterOf, purgeProgress, type PurgeState } from './clear-data-state.ts';

/** One run of the task works this long at most, then yields its slot (the engine runs it again at once). */
const RUN_MS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Why the purge must end now, or null: stopClearData, or another task of the instance waiting behind it. */
async function stopReason(ctx: TaskContext, row: InstanceRecord, task: TaskRow): Promise<string | null> {
  const purge = await getClearData(ctx.db, row.id);
  if (!purge || purge.task_id !== task.id) return 'replaced by a newer purge';
  if (purge.stop_requested) return `stopped by stopClearData after ${purge.effect_keys} keys`;
  // Tasks of an instance run in order: a purge must not hold back a delete or a resize for hours.
  const later = (await pendingTasks(ctx.db, row.id)).find((t) => t.id > task.id);
  return later ? `interrupted after ${purge.effect_keys} keys: a ${later.kind} of the instance was requested` : null;
}

/**
 * clearData (startClearData): on every shard's master, scans every key and deletes those the purge
 * selects, at most qpsLimit a second, through the driver's purgeScan / purgeDelete. Each scan's cursor
 * and batch, and each chunk before its delete, are stored (clear-data-state.ts), so a purge resumed after
 * a crash goes on where it was. The instance's status is never changed: the data is the tenant's business.
 */
export const clearDataHandler: TaskHandler = {
  kind: 'clearData',
  async run(ctx, row, task) {
    const purge = await getClearData(ctx.db, row.id);
    if (!purge || purge.task_id !== task.id || purge.status !== 'running') return DONE;
    const end = async (status: 'success' | 'failed', message: string, state: PurgeState, effect: number): Promise<void> => {
      await updateClearData(ctx.db, row.id, task.id, {
        status,
        message,
        state: JSON.stringify(state),
        effect_keys: effect,
        progress: status === 'success' ? 100 : purgeProgress(state),
        transition_ms: ctx.now(),
      });
      ctx.logger.info({ instanceId: row.id, status, effectKeys: effect, message }, `data purge ${status}`);
    };
    const spec = ctx.spec(row);
    const state = parsePurgeState(purge.state, spec.shardCount);
    let effect = Number(purge.effect_keys);
    const { purgeScan, purgeDelete } = ctx.driver;
    if (!purgeScan || !purgeDelete) {
      await end('failed', `the ${ctx.driver.name} driver cannot purge data`, state, effect);
      return DONE;
    }
    const filter = purgeFilterOf(purge);
    const qps = purge.qps_limit;
    const save = (): Promise<boolean> =>
      updateClearData(ctx.db, row.id, task.id, { state: JSON.stringify(state), effect_keys: effect, progress: purgeProgress(state) });

    const started = ctx.now();
    // Deletions (and, for ExpiredData, reaps) this run: at most qps a second.
    let done = 0;
    // A tenth of a second's worth per step, so the rate stays even within the second.
    const chunk = Math.max(1, Math.min(1_000, Math.ceil(qps / 10)));
    const scanCount = Math.max(10, chunk);
    for (;;) {
      const reason = await stopReason(ctx, row, task);
      if (reason) {
        await end('failed', reason, state, effect);
        return DONE;
      }
      const shard = state.shards.findIndex((s) => !s.done);
      if (!state.pending && shard < 0) {
        await end('success', '', state, effect);
        return DONE;
      }
      // Wait until this run's deletions are within the rate; yield the slot at the end of the run.
      const aheadMs = Math.ceil((done * 1_000) / qps) - (ctx.now() - started);
      if (ctx.now() - started + Math.max(0, aheadMs) >= RUN_MS) break;
      if (aheadMs > 0) await sleep(aheadMs);
      const pending = state.pending;
      if (pending) {
        // inFlight > 0 at this point: those keys were recorded and then a crash (or a failed call) came,
        // so whichever of them are gone now were deleted by this purge and are counted now, once.
        const resumed = pending.inFlight > 0;
        const n = resumed ? pending.inFlight : Math.min(chunk, pending.keys.length);
        if (!resumed) {
          state.pending = { ...pending, inFlight: n };
          await save();
        }
        const r = await purgeDelete.call(ctx.driver, spec, pending.shard, pending.keys.slice(0, n), filter, ctx.signal());
        effect += r.deleted + (resumed ? r.absent : 0);
        done += r.deleted;
        const rest = pending.keys.slice(n);
        state.pending = rest.length > 0 ? { shard: pending.shard, keys: rest, inFlight: 0 } : null;
        await save();
        continue;
      }
      const s = state.shards[shard]!;
      const scan = await purgeScan.call(ctx.driver, spec, shard, s.cursor, filter, scanCount, ctx.signal());
      state.shards[shard] = { cursor: scan.cursor, done: scan.cursor === null, examined: s.examined + scan.examined, keysAtStart: s.keysAtStart ?? scan.shardKeys };
      effect += scan.reaped;
      done += scan.reaped;
      // The batch is recorded with the cursor past it: deleted in chunks by the next turns of the loop.
      if (scan.candidates.length > 0) state.pending = { shard, keys: scan.candidates, inFlight: 0 };
      await save();
    }
    const waitMs = Math.max(0, Math.ceil((done * 1_000) / qps) - (ctx.now() - started));
    return { state: 'progressing', retryAfterMs: waitMs, reason: `data purge: ${effect} keys deleted, ${purgeProgress(state)}% scanned` };
  },

  async giveUp(ctx, row, task, message) {
    // The purge failed (a master unreachable for long): it ends, the instance's status is the health loop's.
    await updateClearData(ctx.db, row.id, task.id, { status: 'failed', message: `purge failed: ${message}`, transition_ms: ctx.now() });
  },
};
