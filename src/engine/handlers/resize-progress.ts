import { markTaskStarted, reportTaskProgress } from '../../store/task-progress-repo.ts';
import type { InstanceRecord } from '../../store/instances-repo.ts';
import type { TaskRow } from '../../store/tasks-repo.ts';
import type { TaskContext } from '../task-handler.ts';

/** How often the driver's progress is read while a resize step runs. */
const POLL_MS = 200;

/**
 * Runs `work` (a resize step) while recording what the driver reports moving (Driver.changeProgress:
 * slots of a reshard, keys of a type change) in task_progress, for describeTaskProgressList. The first
 * record says the task started running; the last one is read after `work` ended, so a finished move is
 * recorded whole. A progress write that fails is logged, never the step's failure.
 */
export async function withResizeProgress<T>(ctx: TaskContext, row: InstanceRecord, task: TaskRow, work: () => Promise<T>): Promise<T> {
  const warn = (err: unknown): void => ctx.logger.warn({ instanceId: row.id, task: task.id, err: (err as Error).message }, 'resize progress not recorded');
  let last = '';
  // What an earlier ensurePresent of the instance (a repair, a previous resize) left: not this task's.
  const before = ctx.driver.changeProgress?.(row.id) ?? null;
  const record = async (): Promise<void> => {
    const p = ctx.driver.changeProgress?.(row.id) ?? null;
    // Nothing moved by this run yet: what an earlier run of the task recorded stands.
    if (!p || p === before) return;
    const seen = `${p.done}/${p.total}/${p.unit}`;
    if (seen === last) return;
    last = seen;
    await reportTaskProgress(ctx.db, { taskId: task.id, instanceId: row.id, ...p, nowMs: ctx.now() }).catch(warn);
  };
  await markTaskStarted(ctx.db, { taskId: task.id, instanceId: row.id, nowMs: ctx.now() }).catch(warn);
  let polling: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    polling = polling.then(record);
  }, POLL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
    await polling;
    await record();
  }
}
