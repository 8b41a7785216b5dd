/**
 * The cacheAnalysis handler on a real SQLite store with a driver whose analysisScan walks an in-memory
 * keyspace (and fails where told): a run that fails after earlier runs saved their tallies goes on from
 * the saved cursor and counts every key exactly once; stopCacheAnalysis and a later task end a run.
 * The real-Redis side is test/api/cache-analysis.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import type { AnalysisResult } from '../../src/domain/analysis/analysis-result.ts';
import { createCacheAnalysisService } from '../../src/domain/analysis/cache-analysis-service.ts';
import { toInstanceSpec } from '../../src/domain/instances/instance-spec.ts';
import type { AnalysisScanResult, Driver } from '../../src/drivers/driver.ts';
import { cacheAnalysisHandler } from '../../src/engine/handlers/cache-analysis-handler.ts';
import type { TaskContext, TaskOutcome } from '../../src/engine/task-handler.ts';
import { createLogger } from '../../src/logger.ts';
import { getCacheAnalysis, requestAnalysisStop } from '../../src/store/cache-analysis-repo.ts';
import { getInstanceById } from '../../src/store/instances-repo.ts';
import { openStore, type Db } from '../../src/store/open-store.ts';
import { insertTask, taskById } from '../../src/store/tasks-repo.ts';
import { instanceRow } from '../helpers/instance-row.ts';

const KEYS = 12_000;
let dir: string;
let db: Db;
const logger = createLogger('silent');
const scope = { account: 'AK', region: 'cn-north-1' };

/** Every 10th key is a big string; `failAt` makes the batch starting there fail once. */
function keyspaceDriver(failAt: Set<number>): Driver {
  const scan = async (_spec: unknown, _shard: number, cursor: string | null, count: number): Promise<AnalysisScanResult> => {
    const from = cursor === null ? 0 : Number(cursor);
    if (failAt.delete(from)) throw new Error(`node went away at ${from}`);
    const to = Math.min(KEYS, from + count);
    const keys = Array.from({ length: to - from }, (_, j) => {
      const i = from + j;
      return { db: 0, name: `k${i}`, type: 'string', size: i % 10 === 0 ? 50_000 : 10, bytes: 64, freq: null };
    });
    return { cursor: to >= KEYS ? null : String(to), keys, shardKeys: KEYS, slot: 'replica', restarted: false };
  };
  return { name: 'memory', analysisScan: scan, commandStats: async () => [{ name: 'get', calls: 3, usec: 9_000 }] } as unknown as Driver;
}

function context(driver: Driver): TaskContext {
  return { db, driver, logger, now: Date.now, signal: () => new AbortController().signal, spec: toInstanceSpec } as unknown as TaskContext;
}

/** Runs the task the way the engine does: again while it progresses; a failed run is retried. */
async function runToEnd(ctx: TaskContext, instanceId: string, taskId: number): Promise<{ failures: number; runs: number }> {
  let failures = 0;
  for (let runs = 1; ; runs++) {
    const row = (await getInstanceById(db, instanceId))!;
    let outcome: TaskOutcome;
    try {
      outcome = await cacheAnalysisHandler.run(ctx, row, (await taskById(db, taskId))!);
    } catch {
      failures++;
      continue;
    }
    if (outcome.state === 'done') return { failures, runs };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jcs-analysis-handler-'));
  db = await openStore(join(dir, 'jcs-redis.db'));
  await createAccount(db, { accessKey: 'AK', secretKey: 'SK' });
  for (const id of ['redis-handler00001', 'redis-handler00002']) await db.insertInto('instances').values(instanceRow({ id, account: 'AK', status: 'running' })).execute();
});
afterAll(async () => {
  await db?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

describe('cacheAnalysis handler', () => {
  const service = () => createCacheAnalysisService({ db, logger, notifyEngine: () => undefined, now: () => new Date() });

  it('resumes a failed run from the last saved cursor and counts every key once', async () => {
    const id = 'redis-handler00001';
    const analysisId = await service().create(scope, id, { stringSize: 1_000 });
    const a = (await getCacheAnalysis(db, id, analysisId))!;
    // At most 5000 keys a second and one second a run: the first run saves about 5000 keys; the failure
    // lands in a later run, whose unsaved tallies are dropped and read again.
    const { failures, runs } = await runToEnd(context(keyspaceDriver(new Set([7_000]))), id, a.task_id);
    expect(failures).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(3);
    const done = (await getCacheAnalysis(db, id, analysisId))!;
    expect(done.status).toBe('success');
    const result = JSON.parse(done.result) as AnalysisResult;
    expect(result.keys).toBe(KEYS);
    expect(result.nodes[0]!.bigCounts.string).toBe(KEYS / 10);
    expect(result.keyTypes).toEqual({ string: KEYS });
    expect(result.big.string).toHaveLength(100); // the default top
    expect(result.cmdCalls).toEqual([{ name: 'get', data: 3 }]);
    expect(result.cmdCpuMs).toEqual([{ name: 'get', data: 9 }]);
  }, 20_000);

  it('ends as manual_stop when asked, and as error when a later task of the instance waits', async () => {
    const id = 'redis-handler00002';
    const first = await service().create(scope, id);
    await requestAnalysisStop(db, id);
    await runToEnd(context(keyspaceDriver(new Set())), id, (await getCacheAnalysis(db, id, first))!.task_id);
    expect((await getCacheAnalysis(db, id, first))!).toMatchObject({ status: 'manual_stop', message: 'stopped by stopCacheAnalysis' });

    const second = await service().create(scope, id);
    await insertTask(db, { instanceId: id, kind: 'delete', payload: {}, nowMs: Date.now() });
    await runToEnd(context(keyspaceDriver(new Set())), id, (await getCacheAnalysis(db, id, second))!.task_id);
    expect((await getCacheAnalysis(db, id, second))!).toMatchObject({ status: 'error', message: 'interrupted: a delete of the instance was requested' });
  });
});
