/**
 * The repositories the backup, cache-analysis and task-progress branches added, the proxy cluster's
 * proxy_password column, and the few functions of the older repositories repositories.test.ts does not
 * call: every function, on SQLite and on PostgreSQL (describe-store.ts; one describeStore block, so one
 * PostgreSQL server for the file). Also the once-per-day rules the schedulers rely on, with two
 * connections to one store acting as two service processes.
 */
import { expect, it } from 'vitest';
import { createAutoAnalysisScheduler } from '../../src/domain/analysis/auto-analysis-scheduler.ts';
import { createCacheAnalysisService, type CacheAnalysisService } from '../../src/domain/analysis/cache-analysis-service.ts';
import { createBackupService } from '../../src/domain/backups/backup-service.ts';
import { createClearDataService } from '../../src/domain/clear-data/clear-data-service.ts';
import { DomainError } from '../../src/domain/domain-error.ts';
import { BackupScheduler } from '../../src/engine/backup-scheduler.ts';
import { createLogger } from '../../src/logger.ts';
import { insertAccount, insertAccountIfMissing, findAccount } from '../../src/store/accounts-repo.ts';
import type { BackupStore } from '../../src/store/backup-store.ts';
import {
  activeBackupPolicies,
  backupUsage,
  deleteBackupRow,
  deleteRestore,
  expiredBackups,
  getBackup,
  getBackupPolicy,
  getRestore,
  hasAutoBackup,
  insertBackup,
  listBackups,
  orphanedRunningBackups,
  replaceRestore,
  runningBackupOf,
  setRestorePhase,
  updateBackup,
  upsertBackupPolicy,
} from '../../src/store/backups-repo.ts';
import {
  analysisOfTask,
  claimAutoDay,
  countAnalysesOfDay,
  getAnalysisSettings,
  getCacheAnalysis,
  insertCacheAnalysis,
  listCacheAnalyses,
  pruneCacheAnalyses,
  requestAnalysisStop,
  runningAnalysis,
  scheduledAnalyses,
  updateRunningAnalysis,
  upsertAnalysisSettings,
} from '../../src/store/cache-analysis-repo.ts';
import { deleteInstanceRow, findInstance, findInstanceForView, getInstanceById, insertInstance, instanceLabels, listInstances, updateInstance } from '../../src/store/instances-repo.ts';
import type { Db } from '../../src/store/open-store.ts';
import type { BackupsTable, CacheAnalysesTable } from '../../src/store/schema.ts';
import { markTaskStarted, reportTaskProgress, tasksWithProgress } from '../../src/store/task-progress-repo.ts';
import { claimDueTasks, finishTask, insertTask, pruneTasks, releaseAllTaskLeases, taskById } from '../../src/store/tasks-repo.ts';
import { instanceRow } from '../helpers/instance-row.ts';
import { describeStore } from './describe-store.ts';

// 2026-12-07 is a Monday; 01:30 +0800 on it is 2026-12-06T17:30Z.
const MONDAY_0130_CST = Date.parse('2026-12-06T17:30:00Z');
/** More than 2^32: a bigint column must come back as this number on both dialects. */
const BIG = 5_000_000_000;

const backup = (over: Partial<BackupsTable> & Pick<BackupsTable, 'base_id' | 'start_ms'>): BackupsTable => ({
  account: 'AK1',
  region: 'cn-north-1',
  instance_id: 'redis-b1',
  file_name: 'f',
  backup_type: 1,
  status: 2,
  message: '',
  end_ms: null,
  size: 0,
  shard_num: 1,
  shard_memory_mb: 1024,
  instance_type: 'master-slave',
  source: 'replica',
  data_bytes: 0,
  files: '[]',
  task_id: 0,
  auto_day: null,
  ...over,
});

const analysis = (over: Partial<CacheAnalysesTable> & Pick<CacheAnalysesTable, 'id' | 'task_id' | 'started_ms'>): CacheAnalysesTable => ({
  instance_id: 'redis-b1',
  automatic: 0,
  status: 'success',
  message: '',
  thresholds: '{"top":100}',
  state: '{}',
  result: '{}',
  stop_requested: 0,
  day: '2026-12-07',
  finished_ms: 0,
  ...over,
});

/** The code a unique violation carries on each dialect (better-sqlite3's, PostgreSQL's SQLSTATE). */
const uniqueViolation = { sqlite: 'SQLITE_CONSTRAINT_UNIQUE', postgres: '23505' } as const;

describeStore('backup, analysis and progress repositories', (s) => {
  it('accounts and instances: insert-if-missing, proxy_password stored and read back, instance labels', async () => {
    expect(await insertAccountIfMissing(s.db, { access_key: 'AK1', secret_key: 'S1', created_at: '2026-01-01T00:00:00Z' })).toBe(true);
    expect(await insertAccountIfMissing(s.db, { access_key: 'AK1', secret_key: 'other', created_at: '2026-01-02T00:00:00Z' })).toBe(false);
    expect((await findAccount(s.db, 'AK1'))?.secret_key).toBe('S1');
    await insertAccount(s.db, { access_key: 'AK2', secret_key: 'S2', created_at: '2026-01-02T00:00:00Z' });

    await insertInstance(s.db, instanceRow({ id: 'redis-b1', account: 'AK1', status: 'running', created_ms: 1 }), []);
    await insertInstance(s.db, instanceRow({ id: 'redis-b2', account: 'AK1', status: 'stopped', shard_number: 3, memory_mb_per_shard: 2048, created_ms: 2 }), []);
    await insertInstance(
      s.db,
      instanceRow({ id: 'redis-px', account: 'AK2', region: 'cn-east-2', instance_type: 'cluster', status: 'creating', proxy_password: 'Pr0xy-Secret', created_ms: 3 }),
      [{ key: 'k', value: 'v' }],
    );
    expect((await getInstanceById(s.db, 'redis-px'))?.proxy_password).toBe('Pr0xy-Secret');
    expect((await findInstance(s.db, 'AK2', 'cn-east-2', 'redis-px'))?.proxy_password).toBe('Pr0xy-Secret');
    expect((await findInstanceForView(s.db, 'AK2', 'cn-east-2', 'redis-px'))?.row.proxy_password).toBe('Pr0xy-Secret');
    const listed = await listInstances(s.db, { account: 'AK2', region: 'cn-east-2', sortDirection: 'asc', offset: 0, limit: 10 });
    expect(listed.rows.map((r) => [r.id, r.proxy_password])).toEqual([['redis-px', 'Pr0xy-Secret']]);
    // An instance created without it reads null (the column's default), as every non-proxy instance.
    expect((await getInstanceById(s.db, 'redis-b1'))?.proxy_password).toBeNull();
    // resetPassword: a new password, then none.
    await updateInstance(s.db, 'redis-px', { proxy_password: 'n3w' });
    expect((await getInstanceById(s.db, 'redis-px'))?.proxy_password).toBe('n3w');
    await updateInstance(s.db, 'redis-px', { proxy_password: null });
    expect((await getInstanceById(s.db, 'redis-px'))?.proxy_password).toBeNull();

    const labels = (await instanceLabels(s.db)).sort((a, b) => a.id.localeCompare(b.id));
    expect(labels).toEqual([
      { id: 'redis-b1', account: 'AK1', region: 'cn-north-1', status: 'running' },
      { id: 'redis-b2', account: 'AK1', region: 'cn-north-1', status: 'stopped' },
      { id: 'redis-px', account: 'AK2', region: 'cn-east-2', status: 'creating' },
    ]);
  });

  it('tasks: releaseAllTaskLeases ends every lease, whoever held it', async () => {
    const t1 = await insertTask(s.db, { instanceId: 'redis-b1', kind: 'lease-test', payload: {}, nowMs: 10 });
    const t2 = await insertTask(s.db, { instanceId: 'redis-b2', kind: 'lease-test', payload: {}, nowMs: 10 });
    await claimDueTasks(s.db, { owner: 'p1', nowMs: 10, leaseMs: 60_000, limit: 1 });
    await claimDueTasks(s.db, { owner: 'p2', nowMs: 10, leaseMs: 60_000, limit: 1 });
    expect([(await taskById(s.db, t1))?.lease_owner, (await taskById(s.db, t2))?.lease_owner].sort()).toEqual(['p1', 'p2']);
    await releaseAllTaskLeases(s.db);
    for (const t of [t1, t2]) expect(await taskById(s.db, t)).toMatchObject({ lease_owner: '', lease_until_ms: 0 });
    expect((await claimDueTasks(s.db, { owner: 'p3', nowMs: 11, leaseMs: 60_000, limit: 10 })).map((t) => t.id)).toEqual([t1, t2]);
    for (const t of [t1, t2]) await finishTask(s.db, t, 'done', '', 20);
    await pruneTasks(s.db, 21);
    expect(await taskById(s.db, t1)).toBeUndefined();
  });

  it('backups: insert, get with bigints as numbers, update, list filtered and paged, usage, expiry, delete', async () => {
    await insertBackup(s.db, backup({ base_id: 'bk-a', start_ms: 1000, end_ms: 1500, size: BIG, data_bytes: BIG }));
    await insertBackup(s.db, backup({ base_id: 'bk-b', start_ms: 2000, size: 10, status: 1, message: 'boom' }));
    await insertBackup(s.db, backup({ base_id: 'bk-d', start_ms: 3000, size: 20 }));
    await insertBackup(s.db, backup({ base_id: 'bk-c', start_ms: 3000, size: 30, status: 0 }));
    await insertBackup(s.db, backup({ base_id: 'bk-x', instance_id: 'redis-b2', start_ms: 500, size: 7 }));
    await insertBackup(s.db, backup({ base_id: 'bk-o', account: 'AK2', instance_id: 'redis-px', start_ms: 500, size: 1000 }));

    const a = await getBackup(s.db, 'bk-a');
    expect(a).toMatchObject({ base_id: 'bk-a', start_ms: 1000, end_ms: 1500, size: BIG, data_bytes: BIG, auto_day: null, status: 2 });
    expect([typeof a?.start_ms, typeof a?.size, typeof a?.status, typeof a?.shard_num]).toEqual(['number', 'number', 'number', 'number']);
    expect(await getBackup(s.db, 'bk-none')).toBeUndefined();

    expect(await updateBackup(s.db, 'bk-d', { status: 2, end_ms: 3500, files: '[{"shard":0}]' })).toBe(true);
    expect(await getBackup(s.db, 'bk-d')).toMatchObject({ end_ms: 3500, files: '[{"shard":0}]' });
    expect(await updateBackup(s.db, 'bk-none', { status: 1 })).toBe(false);

    const page = (q: Partial<Parameters<typeof listBackups>[1]>) => listBackups(s.db, { account: 'AK1', instanceId: 'redis-b1', offset: 0, limit: 10, ...q });
    const ids = async (q: Partial<Parameters<typeof listBackups>[1]>) => (await page(q)).rows.map((r) => r.base_id);
    // Newest first; the same start time in base_id order.
    expect(await ids({})).toEqual(['bk-c', 'bk-d', 'bk-b', 'bk-a']);
    expect(await page({ offset: 1, limit: 2 })).toMatchObject({ total: 4, rows: [{ base_id: 'bk-d' }, { base_id: 'bk-b' }] });
    expect(typeof (await page({})).total).toBe('number');
    expect(await ids({ startMs: 2000, endMs: 2999 })).toEqual(['bk-b']);
    expect(await ids({ startMs: 3000 })).toEqual(['bk-c', 'bk-d']);
    expect(await ids({ endMs: 1000 })).toEqual(['bk-a']);
    expect(await ids({ baseId: 'bk-d' })).toEqual(['bk-d']);
    expect(await page({ account: 'AK2' })).toEqual({ rows: [], total: 0 });

    // Per instance any status; bytes per account, over all its instances.
    expect(await backupUsage(s.db, 'AK1', 'redis-b1')).toEqual({ instanceBackups: 4, accountBytes: BIG + 10 + 20 + 30 + 7 });
    expect(await backupUsage(s.db, 'AK9', 'redis-none')).toEqual({ instanceBackups: 0, accountBytes: 0 });

    // Finished ones only (bk-c still runs), oldest first, at most `limit`.
    const expired = (await expiredBackups(s.db, 3001, 10)).map((b) => b.base_id);
    expect(expired.slice(0, 2).sort()).toEqual(['bk-o', 'bk-x']);
    expect(expired.slice(2)).toEqual(['bk-a', 'bk-b', 'bk-d']);
    expect((await expiredBackups(s.db, 1001, 1)).length).toBe(1);
    expect((await expiredBackups(s.db, 500, 10)).map((b) => b.base_id)).toEqual([]);

    await deleteBackupRow(s.db, 'bk-o');
    await deleteBackupRow(s.db, 'bk-none');
    expect(await getBackup(s.db, 'bk-o')).toBeUndefined();
    expect(await backupUsage(s.db, 'AK2', 'redis-px')).toEqual({ instanceBackups: 0, accountBytes: 0 });
  });

  it('backups: one scheduled backup per instance and day (unique index), manual ones never collide', async () => {
    expect(await hasAutoBackup(s.db, 'redis-b1', '2026-12-07')).toBe(false);
    await insertBackup(s.db, backup({ base_id: 'bk-auto1', backup_type: 0, start_ms: 4000, auto_day: '2026-12-07' }));
    expect(await hasAutoBackup(s.db, 'redis-b1', '2026-12-07')).toBe(true);
    expect(await hasAutoBackup(s.db, 'redis-b1', '2026-12-08')).toBe(false);
    expect(await hasAutoBackup(s.db, 'redis-b2', '2026-12-07')).toBe(false);
    const dup = await insertBackup(s.db, backup({ base_id: 'bk-auto2', backup_type: 0, start_ms: 4001, auto_day: '2026-12-07' })).then(
      () => null,
      (err: unknown) => err as { code?: string },
    );
    expect(dup?.code).toBe(uniqueViolation[s.dialect]);
    expect(await getBackup(s.db, 'bk-auto2')).toBeUndefined();
    // Another day, another instance, and any number of manual backups (auto_day null) are fine.
    await insertBackup(s.db, backup({ base_id: 'bk-auto3', backup_type: 0, start_ms: 4002, auto_day: '2026-12-08' }));
    await insertBackup(s.db, backup({ base_id: 'bk-auto4', instance_id: 'redis-b2', backup_type: 0, start_ms: 4003, auto_day: '2026-12-07' }));
    await insertBackup(s.db, backup({ base_id: 'bk-man1', start_ms: 4004 }));
    await insertBackup(s.db, backup({ base_id: 'bk-man2', start_ms: 4005 }));
    expect((await listBackups(s.db, { account: 'AK1', instanceId: 'redis-b1', startMs: 4000, offset: 0, limit: 10 })).total).toBe(4);
    for (const id of ['bk-auto1', 'bk-auto3', 'bk-auto4', 'bk-man1', 'bk-man2']) await deleteBackupRow(s.db, id);
  });

  it('backups: running backup of an instance, and running ones whose task is no longer pending', async () => {
    expect((await runningBackupOf(s.db, 'redis-b1'))?.base_id).toBe('bk-c');
    expect(await runningBackupOf(s.db, 'redis-b2')).toBeUndefined();
    const pending = await insertTask(s.db, { instanceId: 'redis-b1', kind: 'backup', payload: {}, nowMs: 5000 });
    const ended = await insertTask(s.db, { instanceId: 'redis-b2', kind: 'backup', payload: {}, nowMs: 5000 });
    await finishTask(s.db, ended, 'failed', 'x', 5001);
    await updateBackup(s.db, 'bk-c', { task_id: pending });
    await insertBackup(s.db, backup({ base_id: 'bk-r2', instance_id: 'redis-b2', start_ms: 5000, status: 0, task_id: ended }));
    await insertBackup(s.db, backup({ base_id: 'bk-r3', instance_id: 'redis-gone', start_ms: 5000, status: 0, task_id: 999_999 }));
    expect((await orphanedRunningBackups(s.db)).map((b) => b.base_id).sort()).toEqual(['bk-r2', 'bk-r3']);
    await finishTask(s.db, pending, 'done', '', 5002);
    expect((await orphanedRunningBackups(s.db)).map((b) => b.base_id).sort()).toEqual(['bk-c', 'bk-r2', 'bk-r3']);
    for (const id of ['bk-c', 'bk-r2', 'bk-r3']) await updateBackup(s.db, id, { status: 1 });
    expect(await orphanedRunningBackups(s.db)).toEqual([]);
    expect(await runningBackupOf(s.db, 'redis-b1')).toBeUndefined();
  });

  it('backup policies: none until set, upsert inserts then updates, the active ones with their instance', async () => {
    expect(await getBackupPolicy(s.db, 'redis-b1')).toBeUndefined();
    await upsertBackupPolicy(s.db, { instance_id: 'redis-b1', auto_backup: 1, backup_time: '01:00-02:00 +0800', backup_period: 'Monday', updated_ms: 1 });
    await upsertBackupPolicy(s.db, { instance_id: 'redis-b2', auto_backup: 1, backup_time: '03:00-04:00 +0800', backup_period: 'Sunday', updated_ms: 1 });
    await upsertBackupPolicy(s.db, { instance_id: 'redis-b1', auto_backup: 0, backup_time: '05:00-06:00 +0800', backup_period: 'Monday,Friday', updated_ms: BIG });
    expect(await getBackupPolicy(s.db, 'redis-b1')).toEqual({ instance_id: 'redis-b1', auto_backup: 0, backup_time: '05:00-06:00 +0800', backup_period: 'Monday,Friday', updated_ms: BIG });
    expect(await activeBackupPolicies(s.db)).toEqual([
      {
        instance_id: 'redis-b2',
        auto_backup: 1,
        backup_time: '03:00-04:00 +0800',
        backup_period: 'Sunday',
        updated_ms: 1,
        account: 'AK1',
        region: 'cn-north-1',
        status: 'stopped',
        instance_type: 'master-slave',
        shard_number: 3,
        memory_mb_per_shard: 2048,
      },
    ]);
    await upsertBackupPolicy(s.db, { instance_id: 'redis-b1', auto_backup: 1, backup_time: '05:00-06:00 +0800', backup_period: 'Monday,Friday', updated_ms: 2 });
    expect((await activeBackupPolicies(s.db)).map((p) => p.instance_id).sort()).toEqual(['redis-b1', 'redis-b2']);
  });

  it('restores: replaced per instance, phase and delete only for the current task', async () => {
    expect(await getRestore(s.db, 'redis-b1')).toBeUndefined();
    await replaceRestore(s.db, { instance_id: 'redis-b1', task_id: 1, base_id: 'bk-a', phase: 'fetching', started_ms: BIG });
    await s.db.transaction().execute((trx) => replaceRestore(trx, { instance_id: 'redis-b1', task_id: 2, base_id: 'bk-d', phase: 'fetching', started_ms: 6000 }));
    expect(await getRestore(s.db, 'redis-b1')).toEqual({ instance_id: 'redis-b1', task_id: 2, base_id: 'bk-d', phase: 'fetching', started_ms: 6000 });
    await setRestorePhase(s.db, 'redis-b1', 1, 'placed');
    expect((await getRestore(s.db, 'redis-b1'))?.phase).toBe('fetching');
    await setRestorePhase(s.db, 'redis-b1', 2, 'placed');
    expect((await getRestore(s.db, 'redis-b1'))?.phase).toBe('placed');
    await deleteRestore(s.db, 'redis-b1', 1);
    expect(await getRestore(s.db, 'redis-b1')).toBeDefined();
    await deleteRestore(s.db, 'redis-b1', 2);
    expect(await getRestore(s.db, 'redis-b1')).toBeUndefined();
  });

  it('cache analyses: insert, get per instance, by task, running one, lists by day and time, counts', async () => {
    await insertCacheAnalysis(s.db, analysis({ id: 'ca-1', task_id: 11, started_ms: 1000, day: '2026-12-06', finished_ms: BIG }));
    await insertCacheAnalysis(s.db, analysis({ id: 'ca-3', task_id: 13, started_ms: 3000, automatic: 1 }));
    await insertCacheAnalysis(s.db, analysis({ id: 'ca-2', task_id: 12, started_ms: 3000 }));
    await insertCacheAnalysis(s.db, analysis({ id: 'ca-4', task_id: 14, started_ms: 4000, status: 'running' }));
    await insertCacheAnalysis(s.db, analysis({ id: 'ca-9', instance_id: 'redis-b2', task_id: 19, started_ms: 4000, status: 'running' }));

    const one = await getCacheAnalysis(s.db, 'redis-b1', 'ca-1');
    expect(one).toMatchObject({ id: 'ca-1', task_id: 11, automatic: 0, status: 'success', day: '2026-12-06', started_ms: 1000, finished_ms: BIG, stop_requested: 0 });
    expect([typeof one?.task_id, typeof one?.started_ms, typeof one?.automatic]).toEqual(['number', 'number', 'number']);
    expect(await getCacheAnalysis(s.db, 'redis-b2', 'ca-1')).toBeUndefined();
    expect((await getCacheAnalysis(s.db, 'redis-b1', 'ca-3'))?.automatic).toBe(1);
    expect((await analysisOfTask(s.db, 'redis-b1', 12))?.id).toBe('ca-2');
    expect(await analysisOfTask(s.db, 'redis-b1', 19)).toBeUndefined();
    expect((await runningAnalysis(s.db, 'redis-b1'))?.id).toBe('ca-4');
    expect((await runningAnalysis(s.db, 'redis-b2'))?.id).toBe('ca-9');
    expect(await runningAnalysis(s.db, 'redis-px')).toBeUndefined();

    const ids = async (where?: Parameters<typeof listCacheAnalyses>[2]) => (await listCacheAnalyses(s.db, 'redis-b1', where)).map((r) => r.id);
    // Newest first; the same start time: the greater id first.
    expect(await ids()).toEqual(['ca-4', 'ca-3', 'ca-2', 'ca-1']);
    expect(await ids({ day: '2026-12-06' })).toEqual(['ca-1']);
    expect(await ids({ sinceMs: 3000 })).toEqual(['ca-4', 'ca-3', 'ca-2']);
    expect(await ids({ day: '2026-12-07', sinceMs: 3500 })).toEqual(['ca-4']);
    expect(await listCacheAnalyses(s.db, 'redis-px')).toEqual([]);
    expect(await countAnalysesOfDay(s.db, 'redis-b1', '2026-12-07')).toBe(3);
    expect(await countAnalysesOfDay(s.db, 'redis-b1', '2026-12-08')).toBe(0);
  });

  it('cache analyses: updates and stop requests only while running; pruned by age unless running; gone with the instance', async () => {
    expect(await updateRunningAnalysis(s.db, 'ca-4', { state: '{"cursor":7}' })).toBe(true);
    expect(await updateRunningAnalysis(s.db, 'ca-1', { state: '{"cursor":7}' })).toBe(false);
    expect((await getCacheAnalysis(s.db, 'redis-b1', 'ca-1'))?.state).toBe('{}');
    expect(await requestAnalysisStop(s.db, 'redis-b1')).toBe(true);
    expect(await getCacheAnalysis(s.db, 'redis-b1', 'ca-4')).toMatchObject({ stop_requested: 1, state: '{"cursor":7}' });
    expect((await getCacheAnalysis(s.db, 'redis-b1', 'ca-3'))?.stop_requested).toBe(0);
    expect(await updateRunningAnalysis(s.db, 'ca-4', { status: 'manual_stop', finished_ms: 4500, result: '{"keys":1}' })).toBe(true);
    expect(await updateRunningAnalysis(s.db, 'ca-4', { status: 'success' })).toBe(false);
    expect((await getCacheAnalysis(s.db, 'redis-b1', 'ca-4'))?.status).toBe('manual_stop');
    expect(await requestAnalysisStop(s.db, 'redis-b1')).toBe(false);

    // Started before 4000: ca-1…ca-3 go; ca-4 (4000) stays; the running ca-9 stays whatever its age.
    await pruneCacheAnalyses(s.db, 4000);
    expect(await listCacheAnalyses(s.db, 'redis-b1')).toMatchObject([{ id: 'ca-4' }]);
    await pruneCacheAnalyses(s.db, 1e13);
    expect(await listCacheAnalyses(s.db, 'redis-b1')).toEqual([]);
    expect((await listCacheAnalyses(s.db, 'redis-b2')).map((r) => r.id)).toEqual(['ca-9']);
  });

  it('analysis settings: upsert keeps the claimed day, scheduled ones exclude "-", a day is claimed once', async () => {
    expect(await getAnalysisSettings(s.db, 'redis-b1')).toBeUndefined();
    await upsertAnalysisSettings(s.db, { instance_id: 'redis-b1', analysis_time: '01:00-02:00 +0800', thresholds: '{"top":10}' });
    await upsertAnalysisSettings(s.db, { instance_id: 'redis-b2', analysis_time: '-', thresholds: '{"top":20}' });
    expect(await getAnalysisSettings(s.db, 'redis-b1')).toEqual({ instance_id: 'redis-b1', analysis_time: '01:00-02:00 +0800', thresholds: '{"top":10}', last_auto_day: '' });
    expect((await scheduledAnalyses(s.db)).map((r) => r.instance_id)).toEqual(['redis-b1']);

    expect(await claimAutoDay(s.db, 'redis-b1', '2026-12-07')).toBe(true);
    expect(await claimAutoDay(s.db, 'redis-b1', '2026-12-07')).toBe(false);
    expect(await claimAutoDay(s.db, 'redis-none', '2026-12-07')).toBe(false);
    // Changing the window or thresholds keeps the day already claimed: no second run that day.
    await upsertAnalysisSettings(s.db, { instance_id: 'redis-b1', analysis_time: '03:00-04:00 +0800', thresholds: '{"top":30}' });
    expect(await getAnalysisSettings(s.db, 'redis-b1')).toEqual({ instance_id: 'redis-b1', analysis_time: '03:00-04:00 +0800', thresholds: '{"top":30}', last_auto_day: '2026-12-07' });
    expect(await claimAutoDay(s.db, 'redis-b1', '2026-12-07')).toBe(false);
    expect(await claimAutoDay(s.db, 'redis-b1', '2026-12-08')).toBe(true);
    await upsertAnalysisSettings(s.db, { instance_id: 'redis-b2', analysis_time: '01:00-02:00 +0800', thresholds: '{"top":20}' });
    expect((await scheduledAnalyses(s.db)).map((r) => [r.instance_id, r.last_auto_day]).sort()).toEqual([
      ['redis-b1', '2026-12-08'],
      ['redis-b2', ''],
    ]);
  });

  it('task progress: marked started once, reports upsert keeping the start, listed per instance and kind, gone with the task', async () => {
    const r1 = await insertTask(s.db, { instanceId: 'redis-b1', kind: 'resize', payload: {}, nowMs: 100 });
    const r2 = await insertTask(s.db, { instanceId: 'redis-b1', kind: 'typeChange', payload: {}, nowMs: 200 });
    const other = await insertTask(s.db, { instanceId: 'redis-b1', kind: 'password', payload: {}, nowMs: 300 });
    const elsewhere = await insertTask(s.db, { instanceId: 'redis-b2', kind: 'resize', payload: {}, nowMs: 300 });
    const kinds = ['resize', 'typeChange'];
    expect(await tasksWithProgress(s.db, 'redis-b1', [])).toEqual([]);
    const before = await tasksWithProgress(s.db, 'redis-b1', kinds);
    expect(before.map((t) => [t.id, t.kind, t.state, t.done, t.total, t.unit, t.started_ms, t.progress_ms])).toEqual([
      [r2, 'typeChange', 'pending', null, null, null, null, null],
      [r1, 'resize', 'pending', null, null, null, null, null],
    ]);

    await markTaskStarted(s.db, { taskId: r1, instanceId: 'redis-b1', nowMs: 1000 });
    await markTaskStarted(s.db, { taskId: r1, instanceId: 'redis-b1', nowMs: 2000 });
    const progress = async (id: number) => (await tasksWithProgress(s.db, 'redis-b1', kinds)).find((t) => t.id === id);
    expect(await progress(r1)).toMatchObject({ done: 0, total: 0, unit: '', started_ms: 1000, progress_ms: 1000, created_ms: 100 });
    await reportTaskProgress(s.db, { taskId: r1, instanceId: 'redis-b1', done: 5, total: 16384, unit: 'slots', nowMs: 3000 });
    await reportTaskProgress(s.db, { taskId: r1, instanceId: 'redis-b1', done: 8192, total: 16384, unit: 'slots', nowMs: 4000 });
    expect(await progress(r1)).toMatchObject({ done: 8192, total: 16384, unit: 'slots', started_ms: 1000, progress_ms: 4000 });
    // A first report (no mark before it) marks the start too; bigints come back as numbers.
    await reportTaskProgress(s.db, { taskId: r2, instanceId: 'redis-b1', done: BIG, total: BIG * 2, unit: 'keys', nowMs: 5000 });
    const p2 = await progress(r2);
    expect(p2).toMatchObject({ done: BIG, total: BIG * 2, unit: 'keys', started_ms: 5000, progress_ms: 5000 });
    expect([typeof p2?.id, typeof p2?.done, typeof p2?.created_ms]).toEqual(['number', 'number', 'number']);
    await markTaskStarted(s.db, { taskId: r2, instanceId: 'redis-b1', nowMs: 6000 });
    expect(await progress(r2)).toMatchObject({ done: BIG, started_ms: 5000 });
    expect((await tasksWithProgress(s.db, 'redis-b1', ['password'])).map((t) => t.id)).toEqual([other]);
    expect((await tasksWithProgress(s.db, 'redis-b2', kinds)).map((t) => t.id)).toEqual([elsewhere]);

    for (const t of [r1, r2, other, elsewhere]) await finishTask(s.db, t, 'done', '', 7000);
    expect((await progress(r1))?.state).toBe('done');
    await pruneTasks(s.db, 7001);
    expect(await tasksWithProgress(s.db, 'redis-b1', kinds)).toEqual([]);
    expect(await s.db.selectFrom('task_progress').select('task_id').execute()).toEqual([]);
  });

  it('deleting an instance takes its analyses, settings, policy and restore with it; its backups stay', async () => {
    await insertCacheAnalysis(s.db, analysis({ id: 'ca-del', instance_id: 'redis-b2', task_id: 20, started_ms: 9000 }));
    await replaceRestore(s.db, { instance_id: 'redis-b2', task_id: 3, base_id: 'bk-x', phase: 'fetching', started_ms: 9000 });
    const t = await insertTask(s.db, { instanceId: 'redis-b2', kind: 'resize', payload: {}, nowMs: 9000 });
    await markTaskStarted(s.db, { taskId: t, instanceId: 'redis-b2', nowMs: 9000 });
    await s.db.deleteFrom('tasks').where('instance_id', '=', 'redis-b2').execute();
    await deleteInstanceRow(s.db, 'redis-b2');
    expect(await listCacheAnalyses(s.db, 'redis-b2')).toEqual([]);
    expect(await getAnalysisSettings(s.db, 'redis-b2')).toBeUndefined();
    expect(await getBackupPolicy(s.db, 'redis-b2')).toBeUndefined();
    expect(await getRestore(s.db, 'redis-b2')).toBeUndefined();
    expect((await getBackup(s.db, 'bk-x'))?.instance_id).toBe('redis-b2');
    expect((await activeBackupPolicies(s.db)).map((p) => p.instance_id)).toEqual(['redis-b1']);
    expect((await scheduledAnalyses(s.db)).map((p) => p.instance_id)).toEqual(['redis-b1']);
  });

  it('two service processes: one scheduled backup and one automatic analysis per day, whichever turns race', async () => {
    // A store of its own, opened twice: two service processes sharing it.
    const location = await s.freshLocation();
    const one = await s.open(location);
    const two = await s.open(location);
    await insertAccount(one, { access_key: 'AK', secret_key: 'SK', created_at: '' });
    await insertInstance(one, instanceRow({ id: 'redis-race', account: 'AK', status: 'running' }), []);
    await upsertBackupPolicy(one, { instance_id: 'redis-race', auto_backup: 1, backup_time: '01:00-02:00 +0800', backup_period: 'Monday', updated_ms: 0 });
    await upsertAnalysisSettings(one, { instance_id: 'redis-race', analysis_time: '01:00-02:00 +0800', thresholds: '{"top":10}' });

    const logger = createLogger('silent');
    const files = { removePrefix: () => Promise.resolve() } as Pick<BackupStore, 'removePrefix'> as BackupStore;
    const limits = { perInstance: 30, accountBytes: 1e12, retentionDays: 7 };
    const backups = (db: Db) => new BackupScheduler({ db, files, logger, limits, notifyEngine: () => undefined, now: () => MONDAY_0130_CST });
    const turns = await Promise.all([backups(one).tick(), backups(two).tick(), backups(one).tick(), backups(two).tick()]);
    expect(turns.flatMap((r) => r.started)).toHaveLength(1);
    expect(await one.selectFrom('backups').select(['instance_id', 'auto_day', 'backup_type', 'status']).execute()).toEqual([
      { instance_id: 'redis-race', auto_day: '2026-12-07', backup_type: 0, status: 0 },
    ]);
    expect(await one.selectFrom('tasks').select(['kind', 'instance_id']).execute()).toEqual([{ kind: 'backup', instance_id: 'redis-race' }]);

    const started: string[] = [];
    const analyses: Pick<CacheAnalysisService, 'start'> = {
      start: (instance) => {
        started.push(instance.id);
        return Promise.resolve(`${instance.id}-ca-x`);
      },
    };
    const auto = (db: Db) => createAutoAnalysisScheduler({ db, analyses, logger, now: () => new Date(MONDAY_0130_CST) });
    await Promise.all([auto(one).tick(), auto(two).tick(), auto(one).tick(), auto(two).tick()]);
    expect(started).toEqual(['redis-race']);
    expect((await getAnalysisSettings(two, 'redis-race'))?.last_auto_day).toBe('2026-12-07');
  });

  it('concurrent starts (two service processes on PostgreSQL) begin one backup, one analysis and one purge; the others are refused', async () => {
    // PostgreSQL: two connections to one store, i.e. two service processes. SQLite: one process per store
    // (the data directory's lock), whose transactions take turns on its one connection.
    const location = await s.freshLocation();
    const first = await s.open(location);
    const dbs = [first, s.dialect === 'postgres' ? await s.open(location) : first];
    await insertAccount(dbs[0]!, { access_key: 'AK', secret_key: 'SK', created_at: '' });
    await insertInstance(dbs[0]!, instanceRow({ id: 'redis-twice', account: 'AK', status: 'running' }), []);
    const logger = createLogger('silent');
    const now = () => new Date(MONDAY_0130_CST);
    const scope = { account: 'AK', region: 'cn-north-1' } as Parameters<ReturnType<typeof createBackupService>['create']>[0];
    const files = { removePrefix: () => Promise.resolve() } as Pick<BackupStore, 'removePrefix'> as BackupStore;
    const limits = { perInstance: 30, accountBytes: 1e12, retentionDays: 7 };
    const outcomes = async (calls: Array<() => Promise<unknown>>) =>
      (await Promise.allSettled(calls.map((c) => c()))).map((r) => (r.status === 'fulfilled' ? 'ok' : r.reason instanceof DomainError ? r.reason.code : String(r.reason))).sort();

    const backupServices = dbs.map((db) => createBackupService({ db, files, logger, notifyEngine: () => undefined, now, linkKey: Buffer.alloc(32), limits }));
    const b = await outcomes(Array.from({ length: 8 }, (_, i) => () => backupServices[i % 2]!.create(scope, 'redis-twice', { fileName: `f${i}`, backupType: 1 })));
    expect(b).toEqual(['FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'ok']);
    expect(await dbs[0]!.selectFrom('backups').select('status').execute()).toEqual([{ status: 0 }]);

    const analysisServices = dbs.map((db) => createCacheAnalysisService({ db, logger, notifyEngine: () => undefined, now }));
    const instance = (await getInstanceById(dbs[0]!, 'redis-twice'))!;
    const a = await outcomes(Array.from({ length: 8 }, (_, i) => () => analysisServices[i % 2]!.start(instance, JSON.parse('{"top":10}') as never, false)));
    expect(a).toEqual(['FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'ok']);
    expect(await dbs[0]!.selectFrom('cache_analyses').select('status').execute()).toEqual([{ status: 'running' }]);

    const purges = dbs.map((db) => createClearDataService({ db, logger, notifyEngine: () => undefined, now }));
    const c = await outcomes(Array.from({ length: 8 }, (_, i) => () => purges[i % 2]!.start(scope, 'redis-twice', { clearType: 'AllData' })));
    expect(c).toEqual(['FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'FAILED_PRECONDITION', 'ok']);
    // One purge task: a refused start wrote nothing (its task went with its transaction).
    expect((await dbs[0]!.selectFrom('tasks').select('kind').execute()).map((t) => t.kind).sort()).toEqual(['backup', 'cacheAnalysis', 'clearData']);
  });
});
