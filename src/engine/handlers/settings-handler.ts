import { transitionStatus } from '../../domain/instances/instance-status.ts';
import { DONE, stillProgressing, type TaskHandler } from '../task-handler.ts';

/**
 * settings: the tenant's Redis parameters, disabled commands and accounts as stored now, applied live
 * on every node (dead ones started first) by the driver's level-based converge: CONFIG SET and ACL
 * SETUSER through each node's admin socket, and the conf files rewritten so restarts keep them. Then
 * verified (every node carries them) and `configuring → running`. A later change's own task finds this
 * one's settings already applied.
 */
export const settingsHandler: TaskHandler = {
  kind: 'settings',
  async run(ctx, row) {
    const waiting = stillProgressing(await ctx.restartDeadNodes(ctx.spec(row)));
    if (waiting) return waiting;
    const converged = stillProgressing(await ctx.converge(row));
    if (converged) return converged;
    await transitionStatus(ctx.db, ctx.logger, row.id, 'configuring', 'running', 'settings applied');
    return DONE;
  },
};
