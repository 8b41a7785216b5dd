/**
 * The automatic backup schedule with a fake clock: JD's window and day rules, nextBackupTime, exactly
 * one backup per chosen day whatever number of turns, restarts (new schedulers) or service processes
 * (two connections to one store) try, and retention removing old backups with their files, also after
 * their instance was deleted. Real SQLite store in a temp dir; no Redis needed.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueDay, formatWindow, nextWindow, parseBackupPeriod, parseBackupTime, parseSchedule } from '../../src/domain/backups/backup-policy.ts';
import { DomainError } from '../../src/domain/domain-error.ts';
import { BackupScheduler } from '../../src/engine/backup-scheduler.ts';
import { createLogger } from '../../src/logger.ts';
import { createDirectoryBackupStore } from '../../src/store/directory-backup-store.ts';
import { openStore, type Db } from '../../src/store/open-store.ts';
import { instanceRow } from '../helpers/instance-row.ts';

// 2026-12-07 is a Monday. 01:30 +0800 on it is 2026-12-06T17:30Z.
const MONDAY_0130_CST = Date.parse('2026-12-06T17:30:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('backup policy rules', () => {
  it('parses JD windows and refuses others naming the field and the rule', () => {
    expect(parseBackupTime('01:00-02:00 +0800')).toEqual({ startMin: 60, endMin: 120, offsetMin: 480 });
    expect(parseBackupTime('23:00-24:00 -0530')).toEqual({ startMin: 1380, endMin: 1440, offsetMin: -330 });
    for (const bad of ['1:00-2:00 +0800', '02:00-01:00 +0800', '01:00-01:00 +0800', '24:00-24:30 +0800', '01:00-02:00', '01:00-02:00 +2500', '01:60-02:00 +0800']) {
      expect(() => parseBackupTime(bad), bad).toThrow(DomainError);
      expect(() => parseBackupTime(bad), bad).toThrow(/^backupTime: must be HH:mm-HH:mm/);
    }
    expect([...parseBackupPeriod('Monday,Friday')]).toEqual(['Monday', 'Friday']);
    for (const bad of ['', 'monday', 'Monday,Monday', 'Mon', 'Monday;Tuesday']) expect(() => parseBackupPeriod(bad), bad).toThrow(/^backupPeriod: must be a comma list/);
  });

  it('is due only inside the window, on a chosen day in the policy zone, and names that local day', () => {
    const s = parseSchedule('01:00-02:00 +0800', 'Monday');
    expect(dueDay(s, MONDAY_0130_CST)).toBe('2026-12-07');
    expect(dueDay(s, MONDAY_0130_CST - 31 * 60_000)).toBeNull(); // 00:59 local
    expect(dueDay(s, MONDAY_0130_CST + 30 * 60_000)).toBeNull(); // 02:00 local: the end is excluded
    expect(dueDay(s, MONDAY_0130_CST + DAY)).toBeNull(); // Tuesday
    expect(dueDay(parseSchedule('01:00-02:00 +0000', 'Monday'), MONDAY_0130_CST)).toBeNull(); // 17:30 Sunday UTC
  });

  it('nextBackupTime is the window to come: today until done, then the next chosen day', () => {
    const s = parseSchedule('01:00-02:00 +0800', 'Monday,Thursday');
    expect(formatWindow(nextWindow(s, MONDAY_0130_CST, null))).toBe('2026-12-06T17:00:00Z~2026-12-06T18:00:00Z');
    expect(formatWindow(nextWindow(s, MONDAY_0130_CST, '2026-12-07'))).toBe('2026-12-09T17:00:00Z~2026-12-09T18:00:00Z');
    expect(formatWindow(nextWindow(s, MONDAY_0130_CST + HOUR, null))).toBe('2026-12-09T17:00:00Z~2026-12-09T18:00:00Z');
  });
});

describe('the scheduler', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jcs-backup-schedule-'));
  const storeDir = join(dir, 'backups');
  let db: Db;
  let second: Db;
  let clock = MONDAY_0130_CST;
  const logger = createLogger('silent');
  const limits = { perInstance: 30, accountBytes: 1e12, retentionDays: 7 };
  const scheduler = (on: Db): BackupScheduler => new BackupScheduler({ db: on, files: createDirectoryBackupStore(storeDir), logger, limits, notifyEngine: () => undefined, now: () => clock });
  const autoBackups = async (): Promise<Array<{ auto_day: string | null; status: number }>> => db.selectFrom('backups').select(['auto_day', 'status']).orderBy('start_ms').execute();

  beforeAll(async () => {
    db = await openStore(join(dir, 'jcs.db'));
    second = await openStore(join(dir, 'jcs.db')); // another service process on the same store
    await db.insertInto('accounts').values({ access_key: 'AK', secret_key: 'SK', created_at: '' }).execute();
    await db.insertInto('instances').values(instanceRow({ id: 'redis-sched0000001', account: 'AK', status: 'running' })).execute();
    await db.insertInto('backup_policies').values({ instance_id: 'redis-sched0000001', auto_backup: 1, backup_time: '01:00-02:00 +0800', backup_period: 'Monday,Thursday', updated_ms: 0 }).execute();
  });
  afterAll(async () => {
    await db?.destroy();
    await second?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts one backup per chosen day, whatever number of turns, restarts and processes try', async () => {
    const results = await Promise.all([scheduler(db).tick(), scheduler(second).tick(), scheduler(db).tick(), scheduler(second).tick()]);
    expect(results.flatMap((r) => r.started)).toHaveLength(1);
    clock += 20 * 60_000; // still in the window, after a "restart"
    expect((await scheduler(second).tick()).started).toEqual([]);
    expect(await autoBackups()).toEqual([{ auto_day: '2026-12-07', status: 0 }]);
    const tasks = await db.selectFrom('tasks').select(['kind', 'instance_id']).execute();
    expect(tasks).toEqual([{ kind: 'backup', instance_id: 'redis-sched0000001' }]);
  });

  it('skips days not chosen and times outside the window, and runs again on the next chosen day', async () => {
    clock = MONDAY_0130_CST + DAY; // Tuesday 01:30
    expect((await scheduler(db).tick()).started).toEqual([]);
    clock = MONDAY_0130_CST + 3 * DAY - 45 * 60_000; // Thursday 00:45
    expect((await scheduler(db).tick()).started).toEqual([]);
    clock = MONDAY_0130_CST + 3 * DAY; // Thursday 01:30
    expect((await scheduler(db).tick()).started).toHaveLength(1);
    expect((await autoBackups()).map((b) => b.auto_day)).toEqual(['2026-12-07', '2026-12-10']);
  });

  it('marks a backup whose task ended without it failed, and removes backups past the retention with their files', async () => {
    // The instance is deleted: its backup tasks end (the engine finishes them), its backups stay.
    await db.updateTable('tasks').set({ state: 'done' }).execute();
    await db.deleteFrom('instances').where('id', '=', 'redis-sched0000001').execute();
    const old = await db.selectFrom('backups').select(['base_id', 'instance_id']).orderBy('start_ms').executeTakeFirstOrThrow();
    const file = join(storeDir, old.instance_id, old.base_id, 'shard-0.rdb');
    const files = createDirectoryBackupStore(storeDir);
    const staged = await files.stagingPath(`${old.instance_id}/${old.base_id}/shard-0.rdb`);
    writeFileSync(staged, 'REDIS0010');
    await files.putStaged(`${old.instance_id}/${old.base_id}/shard-0.rdb`, staged);
    expect(existsSync(file)).toBe(true);
    clock = MONDAY_0130_CST + 7 * DAY + HOUR; // the first is 7 days and an hour old, the second 4 days
    const { removed } = await scheduler(db).tick();
    expect(removed).toEqual([old.base_id]);
    expect(existsSync(file)).toBe(false);
    const left = await db.selectFrom('backups').select(['auto_day', 'status', 'message']).execute();
    expect(left).toEqual([{ auto_day: '2026-12-10', status: 1, message: expect.stringMatching(/^interrupted/) }]);
  });
});
