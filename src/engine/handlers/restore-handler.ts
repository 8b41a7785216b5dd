import { BACKUP_OK, RESTORE_TASK, filesOf } from '../../domain/backups/backup-service.ts';
import { transitionStatus, type InstanceStatus } from '../../domain/instances/instance-status.ts';
import type { BackupStore } from '../../store/backup-store.ts';
import { deleteRestore, getBackup, getRestore, setRestorePhase } from '../../store/backups-repo.ts';
import { DONE, GiveUp, stillProgressing, type TaskHandler } from '../task-handler.ts';
import { DATA_STEP_MS } from './backup-handler.ts';

/**
 * restore (restoreInstance, or createCacheInstance with backupId). Phases, recorded in `restores.phase`:
 * - `fetching`: a new instance is built empty first (converge; its status stays `creating`, nobody has
 *   its endpoint yet) → `built`;
 * - `fetching`/`built`: every file's checksum is checked and the driver replaces the data (replaceData):
 *   from then on tenants get an error that says a restore is under way → `placed`;
 * - `placed`: tenants are let in (openAfterRestore), the nodes are converged and verified (a replica
 *   re-syncs) and the instance goes `restoring` (or `creating`) → `running`.
 * A crash before `placed` does the replacement again (tenants were refused throughout, so no write was
 * acknowledged); after it only the opening and the converge are repeated, so writes accepted since the
 * instance opened are kept and nothing is mixed.
 */
export function restoreHandler(files: BackupStore): TaskHandler {
  return {
    kind: RESTORE_TASK,
    async run(ctx, row, task) {
      const restore = await getRestore(ctx.db, row.id);
      if (!restore || restore.task_id !== task.id) return DONE;
      if (restore.phase === 'fetching' && row.status === 'creating') {
        const waiting = stillProgressing(await ctx.converge(row));
        if (waiting) return waiting;
        await setRestorePhase(ctx.db, row.id, task.id, 'built');
      }
      if (restore.phase !== 'placed') {
        const backup = await getBackup(ctx.db, restore.base_id);
        if (!backup || backup.status !== BACKUP_OK) throw new GiveUp(`backup ${restore.base_id} is no longer available`);
        const replace = ctx.driver.replaceData;
        if (!replace) throw new GiveUp(`the ${ctx.driver.name} driver cannot restore data`);
        const local: string[] = [];
        for (const f of filesOf(backup).sort((a, b) => a.shard - b.shard)) {
          const found = await files.check(f.key);
          if (!found || found.sha256 !== f.sha256 || found.bytes !== f.bytes) {
            throw new GiveUp(`backup ${backup.base_id} shard ${f.shard}: the stored file ${found ? 'does not match its checksum' : 'is missing'}`);
          }
          local.push(await files.localFile(f.key));
        }
        await replace.call(ctx.driver, ctx.spec(row), local, ctx.signal(DATA_STEP_MS));
        await setRestorePhase(ctx.db, row.id, task.id, 'placed');
        ctx.logger.info({ instanceId: row.id, baseId: restore.base_id }, 'restore placed: the instance holds the backup data');
      }
      await ctx.driver.openAfterRestore?.(ctx.spec(row), ctx.signal());
      const waiting = stillProgressing(await ctx.converge(row));
      if (waiting) return waiting;
      await ctx.db.transaction().execute(async (trx) => {
        await transitionStatus(trx, ctx.logger, row.id, row.status as InstanceStatus, 'running', `restored from backup ${restore.base_id}`);
        await deleteRestore(trx, row.id, task.id);
      });
      return DONE;
    },

    async giveUp(ctx, row, task, message) {
      // Tenants are let in again whatever the data is (the old data when nothing was replaced yet, the
      // backup's otherwise); the health loop repairs what runs from here.
      await ctx.driver.openAfterRestore?.(ctx.spec(row), ctx.signal()).catch((err: unknown) => ctx.logger.warn({ instanceId: row.id, err: (err as Error).message }, 'could not reopen the instance after a failed restore'));
      await ctx.db.transaction().execute(async (trx) => {
        await transitionStatus(trx, ctx.logger, row.id, row.status as InstanceStatus, 'error', `restore failed: ${message}`);
        await deleteRestore(trx, row.id, task.id);
      });
    },
  };
}
