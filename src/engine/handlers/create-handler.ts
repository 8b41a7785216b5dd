import { transitionStatus } from '../../domain/instances/instance-status.ts';
import { DONE, stillProgressing, type TaskHandler } from '../task-handler.ts';

/** create: build every node, verify, then `creating → running`. */
export const createHandler: TaskHandler = {
  kind: 'create',
  async run(ctx, row) {
    const result = await ctx.converge(row);
    const waiting = stillProgressing(result);
    if (waiting) return waiting;
    await transitionStatus(ctx.db, ctx.logger, row.id, 'creating', 'running', 'created and verified');
    return DONE;
  },
};
