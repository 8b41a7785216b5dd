/**
 * The clearData task handler on a real SQLite store with an in-memory keyspace behind the driver's
 * purgeScan / purgeDelete: the batch recorded before a crash is counted once when the task resumes,
 * stopClearData and a later task of the instance end it, progress is measured from keys scanned, and a
 * driver without the purge methods fails the purge, not the instance. The globs: Redis's rules.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { toInstanceSpec } from '../../src/domain/instances/instance-spec.ts';
import type { Driver, PurgeFilter, PurgeScanResult } from '../../src/drivers/driver.ts';
import { globMatch } from '../../src/drivers/local/redis-glob.ts';
import { clearDataHandler } from '../../src/engine/handlers/clear-data-handler.ts';
import type { TaskContext } from '../../src/engine/task-handler.ts';
import { createLogger } from '../../src/logger.ts';
import { getClearData, replaceClearData } from '../../src/store/clear-data-repo.ts';
import { getInstanceById, insertInstance } from '../../src/store/instances-repo.ts';
import { openStore, type Db } from '../../src/store/open-store.ts';
import { insertTask, taskById } from '../../src/store/tasks-repo.ts';
import { instanceRow } from '../helpers/instance-row.ts';
import { TEST_SEAL } from './engine-harness.ts';

/** A one-shard keyspace: scans `count` names at a time in insertion order, deletes what matches. */
class MemoryKeys {
  readonly keys = new Set<string>();
  deletes = 0;
  scan(cursor: string | null, filter: PurgeFilter, count: number): PurgeScanResult {
    // The cursor is the last name scanned (names in order), so deletions do not shift it.
    const all = [...this.keys].sort();
    const rest = cursor === null ? all : all.filter((k) => k > cursor);
    const batch = rest.slice(0, count);
    const next = batch.length < rest.length ? batch[batch.length - 1]! : null;
    const candidates = batch.filter((k) => globMatch(Buffer.from(filter.pattern), Buffer.from(k)));
    return { cursor: next, candidates, examined: batch.length, shardKeys: all.length, reaped: 0 };
  }
  delete(keys: readonly string[]): { deleted: number; absent: number } {
    let deleted = 0;
    let absent = 0;
    for (const k of keys) {
      if (this.keys.delete(k)) deleted++;
      else absent++;
    }
    this.deletes += deleted;
    return { deleted, absent };
  }
}

let dir = '';
let db: Db;
let mem: MemoryKeys;
const ID = 'redis-aaaaaaaaaaaa';

function context(driver: Partial<Driver>): TaskContext {
  return {
    db,
    driver: { name: 'memory', ...driver } as Driver,
    logger: createLogger('silent'),
    now: Date.now,
    owner: 'test',
    signal: () => new AbortController().signal,
    spec: (row) => toInstanceSpec(row, TEST_SEAL),
    converge: () => Promise.reject(new Error('not used')),
    restartDeadNodes: () => Promise.reject(new Error('not used')),
  };
}

const memoryDriver = (): Partial<Driver> => ({
  purgeScan: async (_spec, _shard, cursor, filter, count) => mem.scan(cursor, filter, count),
  purgeDelete: async (_spec, _shard, keys) => mem.delete(keys),
});

async function startPurge(state: unknown = {}, pattern = 'purge:*', qps = 100_000): Promise<number> {
  const taskId = await insertTask(db, { instanceId: ID, kind: 'clearData', payload: {}, nowMs: Date.now() });
  await replaceClearData(db, {
    instance_id: ID,
    task_id: taskId,
    clear_type: 'KeyPattern',
    key_pattern: pattern,
    key_filter: '[]',
    qps_limit: qps,
    status: 'running',
    message: '',
    progress: 0,
    effect_keys: 0,
    state: JSON.stringify(state),
    stop_requested: 0,
    started_ms: Date.now(),
    transition_ms: Date.now(),
  });
  return taskId;
}

/** Runs the task as the engine would until it is done; returns how many runs it took. */
async function runToEnd(ctx: TaskContext, taskId: number): Promise<number> {
  const row = (await getInstanceById(db, ID))!;
  const task = (await taskById(db, taskId))!;
  for (let runs = 1; runs < 1_000; runs++) {
    const outcome = await clearDataHandler.run(ctx, row, task);
    if (outcome.state === 'done') return runs;
    await new Promise((r) => setTimeout(r, outcome.retryAfterMs));
  }
  throw new Error('the purge did not end');
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jcs-purge-'));
  db = await openStore(join(dir, 'jcs-redis.db'));
  await createAccount(db, { accessKey: 'AK', secretKey: 'SK' });
  await insertInstance(db, instanceRow({ id: ID, account: 'AK', status: 'running' }), []);
  mem = new MemoryKeys();
  for (let i = 0; i < 500; i++) mem.keys.add(`purge:${String(i).padStart(3, '0')}`);
  for (let i = 0; i < 100; i++) mem.keys.add(`keep:${i}`);
});

afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('clearData handler', () => {
  it('deletes the matching keys, counts each once and ends at 100%', async () => {
    const taskId = await startPurge();
    await runToEnd(context(memoryDriver()), taskId);
    const row = (await getClearData(db, ID))!;
    expect(row).toMatchObject({ status: 'success', progress: 100, effect_keys: 500, message: '' });
    expect(mem.keys.size).toBe(100);
  });

  it('after a crash, counts the recorded batch once: deleted then, or deleted now', async () => {
    // The crash came after the batch was recorded: half of it was deleted before, half not yet.
    const batch = ['purge:000', 'purge:001', 'purge:002', 'purge:003'];
    mem.delete(batch.slice(0, 2));
    const taskId = await startPurge({ shards: [{ cursor: null, done: false, examined: 0, keysAtStart: null }], pending: { shard: 0, keys: batch } });
    await runToEnd(context(memoryDriver()), taskId);
    // 498 deleted by this run (2 of them from the batch) + the 2 gone before the crash, and no more.
    expect((await getClearData(db, ID))!.effect_keys).toBe(500);
  });

  it('after a crash mid-batch, counts as deleted only the chunk that was in flight', async () => {
    const batch = ['purge:000', 'purge:001', 'purge:002', 'purge:003'];
    // purge:000 was deleted by the chunk in flight (000, 001); purge:002 by the tenant, not by the purge.
    mem.delete(['purge:000', 'purge:002']);
    mem.deletes = 0;
    const taskId = await startPurge({ shards: [{ cursor: 'purge:003', done: false, examined: 4, keysAtStart: 600 }], pending: { shard: 0, keys: batch, inFlight: 2 } });
    await runToEnd(context(memoryDriver()), taskId);
    // 001 and 003 now, 000 counted as the in-flight chunk's, 004..499 by the scan: 499, not 500.
    expect((await getClearData(db, ID))!.effect_keys).toBe(499);
    expect(mem.deletes).toBe(498);
    expect(mem.keys.size).toBe(100);
  });

  it('keeps to qpsLimit: 60 keys at 40 a second take over a second', async () => {
    mem.keys.clear();
    for (let i = 0; i < 60; i++) mem.keys.add(`purge:${i}`);
    const taskId = await startPurge({}, 'purge:*', 40);
    const t0 = Date.now();
    await runToEnd(context(memoryDriver()), taskId);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_300);
    expect((await getClearData(db, ID))!).toMatchObject({ status: 'success', effect_keys: 60 });
  });

  it('stops on stopClearData with failed and the count so far', async () => {
    const taskId = await startPurge({}, 'purge:*', 200);
    const ctx = context(memoryDriver());
    const row = (await getInstanceById(db, ID))!;
    const task = (await taskById(db, taskId))!;
    expect((await clearDataHandler.run(ctx, row, task)).state).toBe('progressing');
    const mid = (await getClearData(db, ID))!;
    expect(mid.progress).toBeGreaterThan(0);
    expect(mid.progress).toBeLessThan(100);
    // At most a second's worth (200) in the first run.
    expect(Number(mid.effect_keys)).toBeLessThanOrEqual(200);
    await db.updateTable('clear_data').set({ stop_requested: 1 }).execute();
    expect((await clearDataHandler.run(ctx, row, task)).state).toBe('done');
    const end = (await getClearData(db, ID))!;
    expect(end.status).toBe('failed');
    expect(end.message).toMatch(/stopped by stopClearData/);
    expect(Number(end.effect_keys)).toBe(mem.deletes);
  });

  it('ends when another task of the instance waits behind it', async () => {
    const taskId = await startPurge({}, 'purge:*', 100);
    await insertTask(db, { instanceId: ID, kind: 'delete', payload: {}, nowMs: Date.now() });
    await runToEnd(context(memoryDriver()), taskId);
    expect((await getClearData(db, ID))!).toMatchObject({ status: 'failed', message: expect.stringMatching(/a delete of the instance was requested/) });
  });

  it('fails the purge, not the instance, with a driver that cannot purge', async () => {
    const taskId = await startPurge();
    await runToEnd(context({}), taskId);
    expect((await getClearData(db, ID))!).toMatchObject({ status: 'failed', message: 'the memory driver cannot purge data' });
    expect((await getInstanceById(db, ID))!.status).toBe('running');
  });
});

describe('Redis glob', () => {
  const cases: Array<[string, string, boolean]> = [
    ['test*', 'test', true],
    ['test*', 'testing', true],
    ['test*', 'atest', false],
    ['*test', 'my-test', true],
    ['ab*cc*', 'abxxccyy', true],
    ['ab*cc*', 'abxxc', false],
    ['h?llo', 'hello', true],
    ['h?llo', 'hllo', false],
    ['h[ae]llo', 'hallo', true],
    ['h[ae]llo', 'hillo', false],
    ['h[^e]llo', 'hallo', true],
    ['h[^e]llo', 'hello', false],
    ['h[a-b]llo', 'hbllo', true],
    ['h[b-a]llo', 'hallo', true],
    ['h\\*llo', 'h*llo', true],
    ['h\\*llo', 'hello', false],
    ['*', '', true],
    ['a[', 'a', false],
    ['**x', 'yx', true],
  ];
  for (const [pattern, name, want] of cases) {
    it(`${pattern} ${want ? 'matches' : 'does not match'} "${name}"`, () => {
      expect(globMatch(Buffer.from(pattern), Buffer.from(name))).toBe(want);
    });
  }
});
