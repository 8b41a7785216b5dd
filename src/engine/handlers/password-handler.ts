import { transitionStatus } from '../../domain/instances/instance-status.ts';
import { DONE, stillProgressing, type TaskHandler } from '../task-handler.ts';

/** password: applied live on every node (dead ones started first), verified, then `configuring → running`. */
export const passwordHandler: TaskHandler = {
  kind: 'password',
  async run(ctx, row) {
    const spec = ctx.spec(row);
    const waiting = stillProgressing(await ctx.restartDeadNodes(spec));
    if (waiting) return waiting;
    await ctx.driver.setPassword(spec, ctx.signal());
    const converged = stillProgressing(await ctx.converge(row));
    if (converged) return converged;
    await transitionStatus(ctx.db, ctx.logger, row.id, 'configuring', 'running', 'password applied');
    return DONE;
  },
};
