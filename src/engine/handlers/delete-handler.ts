import { deleteInstanceRow } from '../../store/instances-repo.ts';
import { finishTask } from '../../store/tasks-repo.ts';
import { DONE, stillProgressing, TaskLeaseLost, type TaskHandler } from '../task-handler.ts';

/** delete: every node and file gone (the driver releases its host resources), then the row. */
export const deleteHandler: TaskHandler = {
  kind: 'delete',
  async run(ctx, row, task) {
    const waiting = stillProgressing(await ctx.driver.ensureAbsent(row.id, ctx.signal()));
    if (waiting) return waiting;
    await ctx.db.transaction().execute(async (trx) => {
      // Only while this process holds the lease; otherwise nothing here is written (the holder deletes).
      if (!(await finishTask(trx, task.id, 'done', '', ctx.now(), ctx.owner))) throw new TaskLeaseLost(task.id);
      await deleteInstanceRow(trx, row.id);
    });
    ctx.logger.info({ instanceId: row.id }, `instance ${row.id}: deleting → gone`);
    return DONE;
  },
};
