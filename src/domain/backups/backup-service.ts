import type { Readable } from 'node:stream';
import type { Transaction } from 'kysely';
import type { Logger } from '../../logger.ts';
import type { BackupStore } from '../../store/backup-store.ts';
import {
  backupUsage,
  getBackup,
  getBackupPolicy,
  insertBackup,
  listBackups,
  replaceRestore,
  runningBackupOf,
  upsertBackupPolicy,
  type BackupRow,
} from '../../store/backups-repo.ts';
import { findInstance } from '../../store/instances-repo.ts';
import type { Db } from '../../store/open-store.ts';
import type { Database } from '../../store/schema.ts';
import { lockCapacity } from '../../store/store-locks.ts';
import { insertTask } from '../../store/tasks-repo.ts';
import { DomainError } from '../domain-error.ts';
import { randomAlnum } from '../ids.ts';
import type { NewFromBackup } from '../instances/instance-service.ts';
import type { RequestScope } from '../instances/instance-inputs.ts';
import { transitionStatus } from '../instances/instance-status.ts';
import { formatJdTime } from '../time-format.ts';
import { DEFAULT_POLICY, formatWindow, nextWindow, parseSchedule } from './backup-policy.ts';
import { LINK_TTL_MS, signedPath, verifyLink } from './download-link.ts';

/** Engine task kinds (engine/handlers/backup-handler.ts, restore-handler.ts). */
export const BACKUP_TASK = 'backup';
export const RESTORE_TASK = 'restore';

/** JD's backupStatus values. */
export const BACKUP_RUNNING = 0;
export const BACKUP_FAILED = 1;
export const BACKUP_OK = 2;

/** One stored file of a backup (backups.files). */
export interface BackupFile {
  shard: number;
  key: string;
  bytes: number;
  sha256: string;
  keys: number;
}

export interface BackupLimits {
  /** Backups kept per instance, any status (`JCS_BACKUP_MAX_PER_INSTANCE`, default 30). */
  perInstance: number;
  /** Bytes of backups per account (`JCS_BACKUP_QUOTA_GB`, default 50 GB). */
  accountBytes: number;
  /** Days a backup is kept, also after its instance is gone (`JCS_BACKUP_RETENTION_DAYS`, default 7, JD's). */
  retentionDays: number;
}

export interface BackupServiceDeps {
  db: Db;
  files: BackupStore;
  logger: Logger;
  notifyEngine: () => void;
  now: () => Date;
  /** Signs download links (download-link.ts). */
  linkKey: Buffer;
  limits: BackupLimits;
}

/** One backup as describeBackups shows it (JD's Backup model), plus where its snapshots came from. */
export interface BackupView {
  baseId: string;
  backupFileName: string;
  cacheInstanceId: string;
  backupStartTime: string;
  backupEndTime: string;
  backupType: number;
  backupSize: number;
  backupStatus: number;
  backupShardMemoryMB: number;
  backupShardNum: number;
  backupDownloadURL: string;
  /** Not JD's: `replica`, or `master` when a shard had no healthy replica (comma list by shard). */
  snapshotSource: string;
  /** Not JD's: why the backup failed (empty otherwise). */
  failureReason: string;
}

export interface BackupPolicyView {
  autoBackup: boolean;
  backupPeriod: string;
  backupTime: string;
  nextBackupTime: string;
}

export const FILE_NAME_RULE = 'letters, digits and _ only, 1 to 32 characters';
const PAGE_SIZE_MIN = 10;
/** Which instance types a backup of each type can be restored into (see assertFits). */
const RESTORABLE_INTO: Record<string, readonly string[]> = { 'master-slave': ['master-slave'], 'native-cluster': ['native-cluster', 'master-slave'] };
const PAGE_SIZE_MAX = 100;

export const filesOf = (row: Pick<BackupRow, 'files'>): BackupFile[] => JSON.parse(row.files) as BackupFile[];
/** The file name a shard's file is downloaded as. */
export const downloadName = (row: Pick<BackupRow, 'file_name'>, shard: number): string => `${row.file_name}_shard${shard}.rdb`;

function toView(row: BackupRow): BackupView {
  return {
    baseId: row.base_id,
    backupFileName: row.file_name,
    cacheInstanceId: row.instance_id,
    backupStartTime: formatJdTime(new Date(Number(row.start_ms))),
    backupEndTime: row.end_ms === null ? '' : formatJdTime(new Date(Number(row.end_ms))),
    backupType: row.backup_type,
    backupSize: Number(row.size),
    backupStatus: row.status,
    backupShardMemoryMB: row.shard_memory_mb,
    backupShardNum: row.shard_num,
    backupDownloadURL: '',
    snapshotSource: row.source,
    failureReason: row.message,
  };
}

function parseTime(text: string | undefined, field: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new DomainError('INVALID_ARGUMENT', `${field}: must be an ISO 8601 time such as 2026-01-02T03:04:05Z, got "${text}"`);
  return ms;
}

export type BackupService = ReturnType<typeof createBackupService>;

/**
 * Backups and restores (reference §5 ops 20-25, and createCacheInstance with backupId). A request writes
 * its row and a durable engine task in one transaction; the engine takes the snapshots
 * (engine/handlers/backup-handler.ts) or replaces the data (restore-handler.ts). Scheduled backups and
 * retention are the engine's too (engine/backup-scheduler.ts).
 */
export function createBackupService(deps: BackupServiceDeps) {
  const { db, logger, limits } = deps;

  async function mustFind(scope: RequestScope, id: string) {
    const row = await findInstance(db, scope.account, scope.region, id);
    if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
    return row;
  }

  /** The caller's backup, or NOT_FOUND (another account's backup is not found either). */
  async function mustOwnBackup(scope: RequestScope, baseId: string, field = 'baseId'): Promise<BackupRow> {
    const row = await getBackup(db, baseId);
    if (!row || row.account !== scope.account || row.region !== scope.region) throw new DomainError('NOT_FOUND', `${field}: backup ${baseId} not found`);
    return row;
  }

  /** An instance's backups stay listable after it is deleted, until retention: found if either exists. */
  async function mustKnowInstance(scope: RequestScope, id: string): Promise<void> {
    if (await findInstance(db, scope.account, scope.region, id)) return;
    const { total } = await listBackups(db, { account: scope.account, instanceId: id, offset: 0, limit: 1 });
    if (total === 0) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
  }

  function assertUsable(row: BackupRow, field: string): void {
    if (row.status === BACKUP_RUNNING) throw new DomainError('FAILED_PRECONDITION', `${field}: backup ${row.base_id} is still running; wait until its backupStatus is 2`);
    if (row.status !== BACKUP_OK) throw new DomainError('FAILED_PRECONDITION', `${field}: backup ${row.base_id} failed (${row.message}); only a backup with backupStatus 2 can be used`);
  }

  /**
   * Whether the backup's data fits an instance of `shards` × `memoryMbPerShard`: its used memory must fit,
   * and its files must have somewhere to go: a master-slave backup (databases 0-15 of one shard) into a
   * master-slave instance; a native-cluster backup (database 0 of each shard) into a native cluster of any
   * shard count (keys go by slot) or into a master-slave instance.
   */
  function assertFits(row: BackupRow, target: { instanceType: string; shards: number; memoryMbPerShard: number }, field: string): void {
    const targetBytes = target.shards * target.memoryMbPerShard * 1048576;
    if (Number(row.data_bytes) > targetBytes) {
      throw new DomainError(
        'FAILED_PRECONDITION',
        `${field}: backup ${row.base_id} holds ${Math.ceil(Number(row.data_bytes) / 1048576)} MB of data (${row.shard_num} shard${row.shard_num === 1 ? '' : 's'}), more than the ${target.shards * target.memoryMbPerShard} MB of the target instance; choose a larger class`,
      );
    }
    const into = RESTORABLE_INTO[row.instance_type] ?? [];
    if (!into.includes(target.instanceType)) {
      throw new DomainError(
        'FAILED_PRECONDITION',
        `${field}: backup ${row.base_id} of a ${row.instance_type} instance can be restored into ${into.length === 0 ? 'no instance yet' : `a ${into.join(' or ')} instance only`} (the target is ${target.instanceType})`,
      );
    }
  }

  /** Writes the restore's row and task (in the caller's transaction). */
  async function startRestore(trx: Transaction<Database>, instanceId: string, baseId: string, nowMs: number): Promise<void> {
    const taskId = await insertTask(trx, { instanceId, kind: RESTORE_TASK, payload: { baseId }, nowMs });
    await replaceRestore(trx, { instance_id: instanceId, task_id: taskId, base_id: baseId, phase: 'fetching', started_ms: nowMs });
  }

  return {
    async create(scope: RequestScope, id: string, input: { fileName: string; backupType: number }): Promise<{ baseId: string }> {
      if (!/^[A-Za-z0-9_]{1,32}$/.test(input.fileName)) throw new DomainError('INVALID_ARGUMENT', `fileName: must be ${FILE_NAME_RULE}, got "${input.fileName}"`);
      if (input.backupType !== 1) throw new DomainError('INVALID_ARGUMENT', `backupType: must be 1 (manual), got ${input.backupType}`);
      const instance = await mustFind(scope, id);
      if (instance.status !== 'running') {
        throw new DomainError('FAILED_PRECONDITION', `cannot back up cacheInstance ${id} while it is ${instance.status}; allowed when running`);
      }
      const baseId = `bk-${randomAlnum(16)}`;
      const nowMs = deps.now().getTime();
      await db.transaction().execute(async (trx) => {
        // Checked inside the transaction, after taking the capacity lock: two requests at once (also in two
        // service processes on PostgreSQL, where READ COMMITTED alone lets both read "none running") cannot
        // both pass a quota or both run.
        await lockCapacity(trx);
        if (await runningBackupOf(trx, id)) throw new DomainError('FAILED_PRECONDITION', `a backup of cacheInstance ${id} is already running; wait for it to finish`);
        const usage = await backupUsage(trx, scope.account, id);
        if (usage.instanceBackups >= limits.perInstance) {
          throw new DomainError('QUOTA_EXCEEDED', `cacheInstance ${id} has ${usage.instanceBackups} backups, the most one instance may keep (${limits.perInstance}); older ones are removed after ${limits.retentionDays} days`);
        }
        if (usage.accountBytes >= limits.accountBytes) {
          throw new DomainError('QUOTA_EXCEEDED', `the account's backups take ${usage.accountBytes} bytes, at or over its quota of ${limits.accountBytes} bytes`);
        }
        const taskId = await insertTask(trx, { instanceId: id, kind: BACKUP_TASK, payload: { baseId }, nowMs });
        await insertBackup(trx, {
          base_id: baseId,
          account: scope.account,
          region: scope.region,
          instance_id: id,
          file_name: input.fileName,
          backup_type: 1,
          status: BACKUP_RUNNING,
          message: '',
          start_ms: nowMs,
          end_ms: null,
          size: 0,
          shard_num: instance.shard_number,
          shard_memory_mb: instance.memory_mb_per_shard,
          instance_type: instance.instance_type,
          source: '',
          data_bytes: 0,
          files: '[]',
          task_id: taskId,
          auto_day: null,
        });
      });
      logger.info({ instanceId: id, baseId }, 'backup accepted');
      deps.notifyEngine();
      return { baseId };
    },

    async list(
      scope: RequestScope,
      id: string,
      q: { pageNumber?: number; pageSize?: number; startTime?: string; endTime?: string; baseId?: string },
    ): Promise<{ backups: BackupView[]; totalCount: number }> {
      const pageNumber = q.pageNumber ?? 1;
      const pageSize = q.pageSize ?? 10;
      if (!Number.isInteger(pageNumber) || pageNumber < 1) throw new DomainError('INVALID_ARGUMENT', `pageNumber: must be an integer >= 1, got ${pageNumber}`);
      if (!Number.isInteger(pageSize) || pageSize < PAGE_SIZE_MIN || pageSize > PAGE_SIZE_MAX) {
        throw new DomainError('INVALID_ARGUMENT', `pageSize: must be an integer from ${PAGE_SIZE_MIN} to ${PAGE_SIZE_MAX}, got ${pageSize}`);
      }
      const startMs = parseTime(q.startTime, 'startTime');
      const endMs = parseTime(q.endTime, 'endTime');
      await mustKnowInstance(scope, id);
      const { rows, total } = await listBackups(db, {
        account: scope.account,
        instanceId: id,
        ...(startMs === undefined ? {} : { startMs }),
        ...(endMs === undefined ? {} : { endMs }),
        ...(q.baseId ? { baseId: q.baseId } : {}),
        offset: (pageNumber - 1) * pageSize,
        limit: pageSize,
      });
      return { backups: rows.map(toView), totalCount: total };
    },

    async describePolicy(scope: RequestScope, id: string): Promise<BackupPolicyView> {
      await mustFind(scope, id);
      const row = await getBackupPolicy(db, id);
      const policy = row ? { autoBackup: row.auto_backup === 1, backupTime: row.backup_time, backupPeriod: row.backup_period } : DEFAULT_POLICY;
      let nextBackupTime = '';
      if (policy.autoBackup) {
        // The day of the latest automatic backup: today's window is not next once it ran.
        const last = await db.selectFrom('backups').select('auto_day').where('instance_id', '=', id).where('auto_day', 'is not', null).orderBy('auto_day', 'desc').limit(1).executeTakeFirst();
        nextBackupTime = formatWindow(nextWindow(parseSchedule(policy.backupTime, policy.backupPeriod), deps.now().getTime(), last?.auto_day ?? null));
      }
      return { ...policy, nextBackupTime };
    },

    async modifyPolicy(scope: RequestScope, id: string, input: { autoBackup?: boolean; backupTime: string; backupPeriod: string }): Promise<void> {
      parseSchedule(input.backupTime, input.backupPeriod);
      await mustFind(scope, id);
      const current = await getBackupPolicy(db, id);
      const autoBackup = input.autoBackup ?? (current ? current.auto_backup === 1 : true);
      await upsertBackupPolicy(db, { instance_id: id, auto_backup: autoBackup ? 1 : 0, backup_time: input.backupTime, backup_period: input.backupPeriod, updated_ms: deps.now().getTime() });
      logger.info({ instanceId: id, autoBackup, backupTime: input.backupTime, backupPeriod: input.backupPeriod }, 'backup policy changed');
    },

    /** restoreInstance: the instance goes `restoring`, its nodes get the backup's data, then `running`. */
    async restore(scope: RequestScope, id: string, baseId: string): Promise<void> {
      const instance = await mustFind(scope, id);
      const backup = await mustOwnBackup(scope, baseId);
      assertUsable(backup, 'baseId');
      assertFits(backup, { instanceType: instance.instance_type, shards: instance.shard_number, memoryMbPerShard: instance.memory_mb_per_shard }, 'baseId');
      await db.transaction().execute(async (trx) => {
        if (!(await transitionStatus(trx, logger, id, 'running', 'restoring', `restoring backup ${baseId}`))) {
          throw new DomainError('FAILED_PRECONDITION', `cannot restore cacheInstance ${id} while it is ${instance.status}; allowed when running`);
        }
        await startRestore(trx, id, baseId, deps.now().getTime());
      });
      logger.info({ instanceId: id, baseId }, 'restore accepted');
      deps.notifyEngine();
    },

    /** The hook createCacheInstance calls for `backupId` (instance-service.ts, InstanceServiceDeps.createFromBackup). */
    async createFromBackup(trx: Transaction<Database>, scope: RequestScope, target: NewFromBackup): Promise<void> {
      const backup = await getBackup(trx, target.backupId);
      if (!backup || backup.account !== scope.account || backup.region !== scope.region) {
        throw new DomainError('NOT_FOUND', `cacheInstance.backupId: backup ${target.backupId} not found`);
      }
      if (target.srcInstanceId !== undefined && target.srcInstanceId !== backup.instance_id) {
        throw new DomainError('INVALID_ARGUMENT', `cacheInstance.srcInstanceId: backup ${target.backupId} was taken of ${backup.instance_id}, not ${target.srcInstanceId}`);
      }
      assertUsable(backup, 'cacheInstance.backupId');
      assertFits(backup, target, 'cacheInstance.backupId');
      await startRestore(trx, target.instanceId, backup.base_id, deps.now().getTime());
    },

    /** describeDownloadUrl: a link per shard file, served by this service, signed, valid one hour. */
    async downloadUrls(scope: RequestScope, id: string, baseId: string, origin: string): Promise<Array<{ name: string; link: string }>> {
      await mustKnowInstance(scope, id);
      const backup = await mustOwnBackup(scope, baseId);
      if (backup.instance_id !== id) throw new DomainError('NOT_FOUND', `baseId: backup ${baseId} not found for cacheInstance ${id}`);
      assertUsable(backup, 'baseId');
      const expiresMs = deps.now().getTime() + LINK_TTL_MS;
      return filesOf(backup).map((f) => {
        const name = downloadName(backup, f.shard);
        return { name, link: `${origin}${signedPath(deps.linkKey, baseId, name, expiresMs)}` };
      });
    },

    /** Serves a link: checked first, then the file as a stream. */
    async openDownload(baseId: string, name: string, expires: string, signature: string): Promise<{ stream: Readable; bytes: number }> {
      verifyLink(deps.linkKey, baseId, name, expires, signature, deps.now().getTime());
      const backup = await getBackup(db, baseId);
      const file = backup ? filesOf(backup).find((f) => downloadName(backup, f.shard) === name) : undefined;
      const opened = file ? await deps.files.open(file.key) : undefined;
      if (!opened) throw new DomainError('NOT_FOUND', `backup file ${name} no longer exists (removed after ${limits.retentionDays} days)`);
      return opened;
    },
  };
}
