import type { ResizePayload } from '../../domain/instances/instance-service.ts';
import { isSealed } from '../../domain/instances/password-seal.ts';
import { transitionStatus } from '../../domain/instances/instance-status.ts';
import { getInstanceById, updateInstance, type InstanceRecord } from '../../store/instances-repo.ts';
import { DONE, GiveUp, stillProgressing, type TaskContext, type TaskHandler, type TaskOutcome } from '../task-handler.ts';
import type { TaskRow } from '../../store/tasks-repo.ts';
import { withResizeProgress } from './resize-progress.ts';

function previousOf(row: InstanceRecord, payload: string): InstanceRecord {
  const { previous } = JSON.parse(payload) as ResizePayload;
  return { ...row, ...previous, instance_type: previous.instance_type ?? row.instance_type };
}

/** One run of a resize (see resizeHandler). */
async function resize(ctx: TaskContext, row: InstanceRecord, task: TaskRow): Promise<TaskOutcome> {
  const spec = ctx.spec(row);
  const before = previousOf(row, task.payload);
  const sameNodes = before.shard_number === row.shard_number && before.instance_type === row.instance_type;
  if (sameNodes) {
    const waiting = stillProgressing(await ctx.restartDeadNodes(ctx.spec(before)));
    if (waiting) return waiting;
    const obs = await ctx.driver.observe(spec, ctx.signal(5_000));
    const limit = spec.memoryMbPerShard * spec.shardCount * 1024 * 1024;
    if (obs.usedMemoryBytes > limit) {
      throw new GiveUp(`the instance uses ${Math.ceil(obs.usedMemoryBytes / 1048576)} MB, more than the new class's ${limit / 1048576} MB`);
    }
    await ctx.driver.applySettings(spec, ctx.signal());
  }
  const converged = stillProgressing(await ctx.converge(row));
  if (converged) return converged;
  // A proxy cluster of before sealing changed to another type: its password in clear goes (a sealed one
  // stays: a later change back to a proxy cluster needs it).
  if (row.instance_type !== 'cluster' && row.proxy_password && !isSealed(row.proxy_password)) await updateInstance(ctx.db, row.id, { proxy_password: null });
  await transitionStatus(ctx.db, ctx.logger, row.id, 'changing', 'running', `class ${row.instance_class} applied`);
  return DONE;
}

/**
 * resize: the same nodes with new settings are changed live first; a reshard or type change adds nodes,
 * moves the data and removes the old ones (the driver's level-based ensurePresent, resumed where it
 * stopped after a crash). Refused: the old class is restored and re-applied, and the reason kept.
 */
export const resizeHandler: TaskHandler = {
  kind: 'resize',
  run: (ctx, row, task) => withResizeProgress(ctx, row, task, () => resize(ctx, row, task)),

  async giveUp(ctx: TaskContext, row, task, message) {
    const { previous } = JSON.parse(task.payload) as ResizePayload;
    await ctx.db.transaction().execute(async (trx) => {
      // The old class is still what runs: restore it and go back to running, with the reason kept.
      await updateInstance(trx, row.id, previous);
      await transitionStatus(trx, ctx.logger, row.id, 'changing', 'running', `resize refused: ${message}`);
    });
    // Re-apply the restored class (nodes a reshard added are drained and removed): part of the new one may
    // have reached some node. A failure here is the health loop's to repair, and is said so.
    const restored = await getInstanceById(ctx.db, row.id);
    if (!restored) return;
    try {
      await ctx.converge(restored);
    } catch (err) {
      const reason = `resize refused: ${message}; restoring the old class is not finished: ${(err as Error).message}`;
      await updateInstance(ctx.db, row.id, { status_reason: reason });
      ctx.logger.error({ instanceId: row.id, err: (err as Error).message }, 'restoring the old class after a refused resize failed; the health loop repairs it');
    }
  },
};
