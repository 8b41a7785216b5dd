import { DONE, type TaskHandler } from '../task-handler.ts';

/**
 * ipWhiteList: the list stored now is applied (a later change's own task finds it already applied); the
 * status never changed.
 */
export const ipWhiteListHandler: TaskHandler = {
  kind: 'ipWhiteList',
  async run(ctx, row) {
    await ctx.driver.applyIpWhiteList(ctx.spec(row), ctx.signal());
    return DONE;
  },
};
