/**
 * Cache analysis and resize progress in-process, on a real SQLite store: the settings rules (thresholds,
 * windows, days), the daily scheduler (once per day and window, also across wrap-around windows), the
 * analysis tallies, resize progress recorded while a step runs, and describeTaskProgressList's statuses
 * and percentages. The real-Redis side is test/api/cache-analysis.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { DEFAULT_THRESHOLDS, inWindow, parseAnalysisTime, parseDay, parseThresholds, windowDay } from '../../src/domain/analysis/analysis-rules.ts';
import { createAutoAnalysisScheduler } from '../../src/domain/analysis/auto-analysis-scheduler.ts';
import { createTaskProgressService } from '../../src/domain/analysis/task-progress-service.ts';
import type { AnalysisScanResult, ChangeProgress, Driver } from '../../src/drivers/driver.ts';
import { finishResult, freshShard, tallyBatch } from '../../src/engine/handlers/cache-analysis-state.ts';
import { withResizeProgress } from '../../src/engine/handlers/resize-progress.ts';
import type { TaskContext } from '../../src/engine/task-handler.ts';
import { createLogger } from '../../src/logger.ts';
import { upsertAnalysisSettings } from '../../src/store/cache-analysis-repo.ts';
import { getInstanceById } from '../../src/store/instances-repo.ts';
import { openStore, type Db } from '../../src/store/open-store.ts';
import { finishTask, insertTask, taskById } from '../../src/store/tasks-repo.ts';
import { instanceRow } from '../helpers/instance-row.ts';

let dir: string;
let db: Db;
const logger = createLogger('silent');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jcs-analysis-'));
  db = await openStore(join(dir, 'jcs-redis.db'));
  await createAccount(db, { accessKey: 'AK', secretKey: 'SK' });
  for (const id of ['redis-progress0001', 'redis-schedule0001']) await db.insertInto('instances').values(instanceRow({ id, account: 'AK', status: 'running' })).execute();
});
afterAll(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('analysis rules', () => {
  it('takes thresholds over a base, with each family minimum, and refuses naming the field and the rule', () => {
    expect(parseThresholds({ listSize: 5, top: 20 }, DEFAULT_THRESHOLDS, false)).toEqual({ ...DEFAULT_THRESHOLDS, listSize: 5, top: 20 });
    expect(() => parseThresholds({ stringSize: 10_239 }, DEFAULT_THRESHOLDS, true)).toThrow(/stringSize must be an integer from 10240/);
    expect(() => parseThresholds({ hashSize: 0 }, DEFAULT_THRESHOLDS, false)).toThrow(/hashSize must be an integer from 1/);
    expect(() => parseThresholds({ top: 1_001 }, DEFAULT_THRESHOLDS, false)).toThrow(/top must be an integer from 10 to 1000/);
  });

  it('reads windows with their zone, also past midnight, and counts their day from the start', () => {
    expect(parseAnalysisTime('analysisTime', '-')).toBeNull();
    const w = parseAnalysisTime('analysisTime', '23:00-01:00 +0800')!;
    // 23:30 +0800 on Jan 2 is 15:30Z; 00:30 +0800 on Jan 3 is 16:30Z on Jan 2: both the run of Jan 2.
    expect(inWindow(w, Date.parse('2026-01-02T15:30:00Z'))).toBe(true);
    expect(inWindow(w, Date.parse('2026-01-02T16:30:00Z'))).toBe(true);
    expect(inWindow(w, Date.parse('2026-01-02T17:30:00Z'))).toBe(false);
    expect(windowDay(w, Date.parse('2026-01-02T15:30:00Z'))).toBe('2026-01-02');
    expect(windowDay(w, Date.parse('2026-01-02T16:30:00Z'))).toBe('2026-01-02');
    for (const bad of ['1:00-2:00 +0800', '01:00-02:00', '01:00-01:00 +0800', '01:00-02:00 +1500']) {
      expect(() => parseAnalysisTime('analysisTime', bad)).toThrow(/analysisTime must be - \(off\) or a daily window/);
    }
    expect(parseDay('2026-02-28')).toBe('2026-02-28');
    expect(() => parseDay('2026-02-30')).toThrow(/date must be a day yyyy-MM-dd/);
  });
});

describe('analysis tallies', () => {
  const batch = (keys: AnalysisScanResult['keys'], cursor: string | null, restarted = false): AnalysisScanResult => ({ cursor, keys, shardKeys: 3, slot: 'replica', restarted });
  const key = (name: string, type: string, size: number, freq: number | null = null) => ({ db: 0, name, type, size, bytes: size, freq });

  it('counts big keys over the threshold, keeps the top ones, and drops a shard restarted on another node', () => {
    const t = { ...DEFAULT_THRESHOLDS, stringSize: 100, top: 10 };
    const state = { shards: [freshShard()] };
    tallyBatch(state, 0, batch([key('a', 'string', 500, 9), key('b', 'string', 100, 5)], 'c1'), t);
    tallyBatch(state, 0, batch([key('c', 'list', 5_000, 5)], null), t);
    let r = finishResult(state, t, [{ name: 'get', calls: 7, usec: 3_000 }, { name: 'config|get', calls: 99, usec: 1 }], true);
    expect(r.big.string.map((k) => k.name)).toEqual(['a']);
    expect(r.big.list.map((k) => k.name)).toEqual(['c']);
    expect(r.nodes[0]).toMatchObject({ bigCounts: { string: 1, list: 1 }, hotCount: 1 });
    expect(r.cmdCalls).toEqual([{ name: 'get', data: 7 }]);
    expect(r.keys).toBe(3);
    tallyBatch(state, 0, batch([key('d', 'string', 200)], null, true), t);
    r = finishResult(state, t, [], false);
    expect(r.big.string.map((k) => k.name)).toEqual(['d']);
    expect(r.keys).toBe(1);
  });
});

describe('resize progress', () => {
  it('records what the driver moves while the step runs, the whole move at its end, and the statuses and percentages', async () => {
    const id = 'redis-progress0001';
    const taskId = await insertTask(db, { instanceId: id, kind: 'resize', payload: {}, nowMs: Date.now() });
    const progress = createTaskProgressService({ db, now: () => new Date() });
    const scope = { account: 'AK', region: 'cn-north-1' };
    expect((await progress.list(scope, id, undefined))[0]).toMatchObject({ taskStatus: 'init', progressPercent: 0, elapsedTimeSecond: 0 });

    let moving: ChangeProgress | null = { done: 99, total: 99, unit: 'slots' }; // what an earlier repair left
    const driver = { changeProgress: () => moving } as unknown as Driver;
    const ctx = { db, driver, logger, now: Date.now } as unknown as TaskContext;
    const task = (await taskById(db, taskId))!;
    const row = (await getInstanceById(db, id))!;
    const seen: number[] = [];
    await withResizeProgress(ctx, row, task, async () => {
      moving = { done: 10, total: 40, unit: 'slots' };
      // The step goes on only once the store shows the move in flight (recorded by the poller, not at the end).
      for (;;) {
        const [p] = await progress.list(scope, id, 'resize');
        if (p!.progressPercent > 0) {
          seen.push(p!.progressPercent);
          expect(p!.taskStatus).toBe('running');
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      moving = { done: 40, total: 40, unit: 'slots' };
    });
    expect(seen).toEqual([25]);
    const stored = await db.selectFrom('task_progress').selectAll().where('task_id', '=', taskId).executeTakeFirstOrThrow();
    expect([Number(stored.done), Number(stored.total), stored.unit]).toEqual([40, 40, 'slots']);
    // Still pending: at most 99 until the task is done.
    expect((await progress.list(scope, id, undefined))[0]).toMatchObject({ taskStatus: 'running', progressPercent: 99 });
    await finishTask(db, taskId, 'done', '', Date.now());
    expect((await progress.list(scope, id, undefined))[0]).toMatchObject({ taskType: 'resize', taskId: String(taskId), taskStatus: 'success', progressPercent: 100 });
    await expect(progress.list({ account: 'OTHER', region: 'cn-north-1' }, id, undefined)).rejects.toThrow(/not found/);
  });
});

describe('daily automatic analysis', () => {
  it('starts one run per day inside the window, claimed in the store so a second process does not start it again', async () => {
    const id = 'redis-schedule0001';
    const started: Array<{ id: string; automatic: boolean }> = [];
    let now = Date.parse('2026-03-01T00:30:00Z'); // 08:30 +0800
    const scheduler = createAutoAnalysisScheduler({
      db,
      logger,
      now: () => new Date(now),
      analyses: {
        start: async (instance, _t, automatic) => {
          started.push({ id: instance.id, automatic });
          return 'task';
        },
      },
    });
    await upsertAnalysisSettings(db, { instance_id: id, analysis_time: '08:00-09:00 +0800', thresholds: JSON.stringify(DEFAULT_THRESHOLDS) });
    await scheduler.tick();
    await scheduler.tick();
    expect(started).toEqual([{ id, automatic: true }]);
    now += 3_600_000; // 09:30: outside
    await scheduler.tick();
    now += 23 * 3_600_000; // 08:30 the next day
    await scheduler.tick();
    expect(started).toHaveLength(2);
    // A second scheduler (another process, a restart) finds the day claimed.
    const other = createAutoAnalysisScheduler({ db, logger, now: () => new Date(now), analyses: { start: async () => (started.push({ id: 'dup', automatic: true }), 'x') } });
    await other.tick();
    expect(started).toHaveLength(2);
  });
});
