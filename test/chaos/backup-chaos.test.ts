/**
 * Backups under the kill faults (issue 17's chaos mix, beside the main run): a writer writes numbered
 * keys throughout; backups are asked for while the service is SIGKILLed, the replica is SIGKILLed, the
 * master is SIGKILLed, and with no fault. Every acknowledged backup (createBackup answered and the backup
 * ended `backupStatus 2`) must pass redis-check-rdb, hold every write acknowledged before it was asked for
 * (checked in a bare redis-server on its file), and be restorable: each is restored into a new instance
 * whose data must equal the file's. 0 violations. Ports 25650-25699 belong to this file.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service-process.ts';
import { msSpec, waitForStatus } from '../helpers/test-service.ts';
import { backupEnd, bareRedisOn, dumpKeys, run, startKillableService, type BackupSdk, type KillableService } from '../backups/backup-helpers.ts';
import { ChaosWriter } from './chaos-writer.ts';

const PASSWORD = 'Chaos1234';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let k: KillableService;
let dataDir = '';
let work = '';
let svc: ServiceProcess;
let sdk: BackupSdk;

beforeAll(async () => {
  k = await startKillableService('jcs-backup-chaos-', '25650-25699');
  ({ svc, sdk, dataDir } = k);
  work = mkdtempSync(join(tmpdir(), 'jcs-backup-chaos-work-'));
});

afterAll(async () => {
  await k?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Retries an SDK call while the service is down or restarting (a killed service answers nothing). */
async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await call();
    } catch (err) {
      if ((err as { error?: unknown }).error || i > 200) throw err;
      await sleep(50);
    }
  }
}

describe('backups under kill faults', () => {
  it('every acknowledged backup is restorable and holds every write acknowledged before it', async () => {
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const { port } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
    const writer = new ChaosWriter('127.0.0.1', port, () => [PASSWORD], 'bc:', 1);
    writer.start();
    // The pid of each node, by its planned slot: the published port's directory is the master's.
    const pidOf = (slot: 'master' | 'replica'): number => {
      const dir = join(dataDir, 'instances', id);
      const node = slot === 'master' ? String(port) : readdirSync(dir).find((d) => /^\d+$/.test(d) && d !== String(port))!;
      return Number(readFileSync(join(dir, node, 'redis.pid'), 'utf8').trim());
    };
    const faults: Array<{ name: string; inject: () => Promise<void> }> = [
      { name: 'service SIGKILL', inject: async () => { await sleep(20); await svc.stop('SIGKILL'); await svc.start(); } },
      { name: 'replica SIGKILL', inject: async () => { process.kill(pidOf('replica'), 'SIGKILL'); } },
      { name: 'master SIGKILL', inject: async () => { process.kill(pidOf('master'), 'SIGKILL'); } },
      { name: 'none', inject: async () => undefined },
    ];
    const acknowledged: Array<{ baseId: string; askedAt: number; fault: string }> = [];
    const violations: string[] = [];
    for (const fault of faults) {
      // The previous fault repaired: the master takes writes again and the instance shows running.
      await sleep(600);
      expect(await writer.firstAckAfter(Date.now(), 30_000)).not.toBeNaN();
      await retrying(() => waitForStatus(sdk, id, ['running'], 60_000));
      await sleep(200); // writes flowing before each backup
      const askedAt = Date.now();
      const res = await sdk.createBackup({ cacheInstanceId: id, fileName: `chaos_${acknowledged.length}`, backupType: 1 });
      await fault.inject();
      const b = await retrying(() => backupEnd(sdk, id, res.result.baseId as string, 120_000));
      if (b.backupStatus === 2) acknowledged.push({ baseId: b.baseId, askedAt, fault: fault.name });
      console.log(`backup during ${fault.name}: ${b.backupStatus === 2 ? `acknowledged (${b.snapshotSource})` : `failed, not acknowledged (allowed): ${b.failureReason}`}`);
    }
    await retrying(() => waitForStatus(sdk, id, ['running'], 60_000));
    await writer.stop();

    for (const [i, b] of acknowledged.entries()) {
      const file = join(dataDir, 'backups', id, b.baseId, 'shard-0.rdb');
      const check = await run('redis-check-rdb', [file]);
      if (check.code !== 0) violations.push(`${b.baseId} (${b.fault}): redis-check-rdb refused it`);
      copyFileSync(file, join(work, `b${i}.rdb`));
      const bare = await bareRedisOn(work, `b${i}.rdb`);
      let inFile = {};
      try {
        const before = writer.acks.filter((a) => a.ackedAt < b.askedAt);
        const got = before.length === 0 ? [] : await bare.client.mget(before.map((a) => writer.key(a.seq)));
        const missing = before.filter((a, j) => got[j] !== String(a.seq));
        if (missing.length > 0) violations.push(`${b.baseId} (${b.fault}): ${missing.length} of ${before.length} writes acknowledged before it are missing, e.g. ${writer.key(missing[0]!.seq)}`);
        inFile = await dumpKeys(bare.client, [0]);
      } finally {
        await bare.stop();
      }
      // Restorable: a new instance from it holds exactly the file's data.
      const copy = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD, backupId: b.baseId, cacheInstanceName: `restored_${i}` }) })).result.cacheInstanceId as string;
      if ((await waitForStatus(sdk, copy, ['running', 'error'], 60_000)) !== 'running') violations.push(`${b.baseId} (${b.fault}): the restore into a new instance did not end running`);
      const cport = ((await sdk.describeCacheInstance({ cacheInstanceId: copy })).result.cacheInstance as { port: number }).port;
      const c = new Redis({ host: '127.0.0.1', port: cport, password: PASSWORD, maxRetriesPerRequest: 1 });
      try {
        const restored = await dumpKeys(c, [0]);
        if (JSON.stringify(restored) !== JSON.stringify(inFile)) violations.push(`${b.baseId} (${b.fault}): the restored instance differs from the file (${Object.keys(restored).length} keys vs ${Object.keys(inFile).length})`);
      } finally {
        c.disconnect();
      }
      await sdk.deleteCacheInstance({ cacheInstanceId: copy });
    }
    console.log(`backup chaos: ${acknowledged.length} acknowledged backups (${acknowledged.map((b) => b.fault).join(', ')}), ${writer.acks.length} writes, violations: ${violations.length}`);
    expect(violations).toEqual([]);
    expect(acknowledged.length).toBeGreaterThanOrEqual(3);
  }, 240_000);
});
