import { rm } from 'node:fs/promises';
import { BACKUP_FAILED, BACKUP_OK, BACKUP_RUNNING, BACKUP_TASK, filesOf, type BackupFile } from '../../domain/backups/backup-service.ts';
import type { BackupStore } from '../../store/backup-store.ts';
import { getBackup, updateBackup } from '../../store/backups-repo.ts';
import { DONE, GiveUp, stillProgressing, type TaskHandler } from '../task-handler.ts';

const baseIdOf = (payload: string): string => (JSON.parse(payload) as { baseId: string }).baseId;

/** A snapshot moves a whole dataset and starts over when cut off: its bound is the driver wrapper's data bound. */
export const DATA_STEP_MS = 600_000;

/**
 * backup (createBackup and the schedule): each shard's snapshot through the driver (from its replica),
 * taken into the backup store with its checksum, recorded shard by shard, so a crash resumes with the
 * shards still missing. The instance's status is never changed; a backup that cannot be taken ends
 * `failed` with the reason, its files removed, and never harms the instance.
 */
export function backupHandler(files: BackupStore): TaskHandler {
  return {
    kind: BACKUP_TASK,
    async run(ctx, row, task) {
      const baseId = baseIdOf(task.payload);
      const backup = await getBackup(ctx.db, baseId);
      if (!backup || backup.status !== BACKUP_RUNNING) return DONE;
      const snapshot = ctx.driver.snapshotShard;
      if (!snapshot) throw new GiveUp(`the ${ctx.driver.name} driver cannot take snapshots`);
      const spec = ctx.spec(row);
      // The health loop leaves an instance with a pending task alone: a node that died just before (or
      // during) the backup is started here, or every attempt would find no master until the task gave up.
      const waiting = stillProgressing(await ctx.restartDeadNodes(spec));
      if (waiting) return waiting;
      const done = filesOf(backup);
      const sources = backup.source === '' ? [] : backup.source.split(',');
      let dataBytes = Number(backup.data_bytes);
      for (let shard = 0; shard < backup.shard_num; shard++) {
        if (done.some((f) => f.shard === shard)) continue;
        if (shard >= spec.shardCount) throw new GiveUp(`the instance has ${spec.shardCount} shard(s) now, the backup was of ${backup.shard_num}`);
        const key = `${row.id}/${baseId}/shard-${shard}.rdb`;
        const staged = await files.stagingPath(key);
        try {
          const snap = await snapshot.call(ctx.driver, spec, shard, staged, ctx.signal(DATA_STEP_MS));
          const stored = await files.putStaged(key, staged, { bytes: snap.bytes, sha256: snap.sha256 });
          const file: BackupFile = { shard, key, bytes: stored.bytes, sha256: stored.sha256, keys: snap.keys };
          done.push(file);
          sources[shard] = snap.source;
          dataBytes += snap.usedMemoryBytes;
          await updateBackup(ctx.db, baseId, { files: JSON.stringify(done), source: sources.join(','), data_bytes: dataBytes });
          ctx.logger.info({ instanceId: row.id, baseId, shard, bytes: stored.bytes, keys: snap.keys, source: snap.source, reason: snap.reason }, 'backup shard stored');
        } catch (err) {
          // A full backup store stays full for the next attempts: fail now, with the reason.
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new GiveUp(`no space left in the backup store for shard ${shard}: ${(err as Error).message}`);
          throw err;
        } finally {
          await rm(staged, { force: true });
        }
      }
      const size = done.reduce((sum, f) => sum + f.bytes, 0);
      await updateBackup(ctx.db, baseId, { status: BACKUP_OK, size, end_ms: ctx.now() });
      ctx.logger.info({ instanceId: row.id, baseId, size, source: sources.join(',') }, 'backup succeeded');
      return DONE;
    },

    async giveUp(ctx, row, task, message) {
      const baseId = baseIdOf(task.payload);
      await files.removePrefix(`${row.id}/${baseId}/`);
      await updateBackup(ctx.db, baseId, { status: BACKUP_FAILED, message, size: 0, files: '[]', end_ms: ctx.now() });
      ctx.logger.warn({ instanceId: row.id, baseId, err: message }, 'backup failed; the instance is untouched');
    },
  };
}
