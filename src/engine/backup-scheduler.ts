import { BACKUP_FAILED, BACKUP_RUNNING, BACKUP_TASK, type BackupLimits } from '../domain/backups/backup-service.ts';
import { dueDay, parseSchedule } from '../domain/backups/backup-policy.ts';
import { periodicTurns, startDueRuns, type DailyWindowJob } from '../domain/daily-window-turns.ts';
import { randomAlnum } from '../domain/ids.ts';
import type { Logger } from '../logger.ts';
import type { BackupStore } from '../store/backup-store.ts';
import { activeBackupPolicies, backupUsage, deleteBackupRow, expiredBackups, hasAutoBackup, insertBackup, orphanedRunningBackups, updateBackup } from '../store/backups-repo.ts';
import type { Db } from '../store/open-store.ts';
import { lockCapacity } from '../store/store-locks.ts';
import { insertTask } from '../store/tasks-repo.ts';

export interface BackupSchedulerOptions {
  db: Db;
  files: BackupStore;
  logger: Logger;
  limits: BackupLimits;
  /** Wakes the engine after a backup task was committed. */
  notifyEngine: () => void;
  /** How often the policies are looked at. Default 30 s (a window is at least a minute long). */
  intervalMs?: number;
  now?: () => number;
}

/** Expired backups removed per turn, so one turn stays short whatever piled up. */
const RETENTION_BATCH = 100;

/**
 * Automatic backups and retention. Each turn: every instance whose policy has a window open now on a
 * chosen day gets that day's backup (its row carries the day, and a unique index on (instance, day)
 * lets only one of any number of turns, restarts or service processes write it: exactly once per
 * chosen day); backups older than the retention are removed with their files, also after their
 * instance was deleted; running backups whose task ended without them are marked failed.
 */
type Policy = Awaited<ReturnType<typeof activeBackupPolicies>>[number];

export class BackupScheduler {
  private readonly now: () => number;
  private readonly turns;
  /** The automatic backups as a daily-window job: the backup row carrying the day is the claim. */
  private readonly autoBackups: DailyWindowJob<Policy> = {
    items: async () => (await activeBackupPolicies(this.o.db)).filter((p) => p.status === 'running'),
    openDay: (p, nowMs) => {
      try {
        return dueDay(parseSchedule(p.backup_time, p.backup_period), nowMs);
      } catch {
        return null; // modifyBackupPolicy only stores valid policies
      }
    },
    claimed: (p, day) => hasAutoBackup(this.o.db, p.instance_id, day),
    claimAndStart: (p, day, nowMs) => this.startAuto(p, day, nowMs),
  };

  constructor(private readonly o: BackupSchedulerOptions) {
    this.now = o.now ?? Date.now;
    this.turns = periodicTurns(() => this.tick(), {
      intervalMs: o.intervalMs ?? 30_000,
      onError: (err) => this.o.logger.error({ err: err.message }, 'backup schedule turn failed; retrying at the next'),
    });
  }

  start(): void {
    this.turns.start();
  }

  async stop(): Promise<void> {
    await this.turns.stop();
  }

  /** One turn (the timer's, or a test's with a fake clock): what it started and removed. */
  async tick(): Promise<{ started: string[]; removed: string[] }> {
    const now = this.now();
    const started = await startDueRuns(this.autoBackups, now);
    if (started.length > 0) this.o.notifyEngine();
    const removed = await this.retire(now);
    return { started, removed };
  }

  private async startAuto(p: Policy, day: string, now: number): Promise<string | null> {
    const baseId = `bk-${randomAlnum(16)}`;
    try {
      await this.o.db.transaction().execute(async (trx) => {
        // The quotas are counted after taking the capacity lock, as createBackup does: a manual backup
        // started meanwhile in another service process is counted.
        await lockCapacity(trx);
        const usage = await backupUsage(trx, p.account, p.instance_id);
        const over =
          usage.instanceBackups >= this.o.limits.perInstance
            ? `quota: the instance keeps ${this.o.limits.perInstance} backups at most`
            : usage.accountBytes >= this.o.limits.accountBytes
              ? `quota: the account's backups take ${usage.accountBytes} bytes of ${this.o.limits.accountBytes}`
              : '';
        const taskId = over ? 0 : await insertTask(trx, { instanceId: p.instance_id, kind: BACKUP_TASK, payload: { baseId }, nowMs: now });
        await insertBackup(trx, {
          base_id: baseId,
          account: p.account,
          region: p.region,
          instance_id: p.instance_id,
          file_name: `auto_${day.replaceAll('-', '')}`,
          backup_type: 0,
          status: over ? BACKUP_FAILED : BACKUP_RUNNING,
          message: over,
          start_ms: now,
          end_ms: over ? now : null,
          size: 0,
          shard_num: p.shard_number,
          shard_memory_mb: p.memory_mb_per_shard,
          instance_type: p.instance_type,
          source: '',
          data_bytes: 0,
          files: '[]',
          task_id: taskId,
          auto_day: day,
        });
      });
    } catch (err) {
      // Another turn (a restart, another service process) wrote this day's backup first: the unique index said no.
      if (await hasAutoBackup(this.o.db, p.instance_id, day)) return null;
      throw err;
    }
    this.o.logger.info({ instanceId: p.instance_id, baseId, day }, 'automatic backup started');
    return baseId;
  }

  private async retire(now: number): Promise<string[]> {
    for (const b of await orphanedRunningBackups(this.o.db)) {
      await this.o.files.removePrefix(`${b.instance_id}/${b.base_id}/`);
      await updateBackup(this.o.db, b.base_id, { status: BACKUP_FAILED, message: 'interrupted: the instance was deleted or its task ended', end_ms: now, files: '[]', size: 0 });
    }
    const removed: string[] = [];
    const cutoff = now - this.o.limits.retentionDays * 86_400_000;
    for (const b of await expiredBackups(this.o.db, cutoff, RETENTION_BATCH)) {
      // Files first: a crash between the two leaves a row whose files are gone, removed at the next turn.
      await this.o.files.removePrefix(`${b.instance_id}/${b.base_id}/`);
      await deleteBackupRow(this.o.db, b.base_id);
      removed.push(b.base_id);
    }
    if (removed.length > 0) this.o.logger.info({ removed: removed.length }, 'expired backups removed');
    return removed;
  }
}
