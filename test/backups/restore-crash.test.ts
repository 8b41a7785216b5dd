/**
 * restoreInstance across SIGKILLs of the service, with a writer running throughout: the restore resumes
 * after each kill and ends `running` with exactly the backup's data (no key written after the backup
 * survives, none of the backup is missing, nothing mixed), the same endpoint and password, and every
 * write acknowledged once the instance was back is kept. The service runs as a separate process.
 * Ports 25500-25549 belong to this file.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProcess } from '../helpers/service-process.ts';
import { msSpec, waitForStatus } from '../helpers/test-service.ts';
import { backupEnd, dumpKeys, fillMixed, startKillableService, type BackupSdk, type KillableService } from './backup-helpers.ts';

let k: KillableService;
let svc: ServiceProcess;
let sdk: BackupSdk;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  k = await startKillableService('jcs-restore-crash-', '25500-25549');
  ({ svc, sdk } = k);
});

afterAll(async () => {
  await k?.destroy();
});

describe('restore and SIGKILL of the service', () => {
  it('resumes after each kill and ends with exactly the backup data, keeping writes acknowledged after it', async () => {
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const port = ((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number }).port;
    const c = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', maxRetriesPerRequest: 0, retryStrategy: () => 10 });
    // No offline queue: a write while the node is down fails at once instead of waiting for it.
    const w = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', maxRetriesPerRequest: 0, retryStrategy: () => 10, enableOfflineQueue: false });
    c.on('error', () => undefined);
    w.on('error', () => undefined);
    try {
      await fillMixed(c, 'b:');
      const baseId = (await sdk.createBackup({ cacheInstanceId: id, fileName: 'crash', backupType: 1 })).result.baseId as string;
      expect((await backupEnd(sdk, id, baseId)).backupStatus).toBe(2);
      const atBackup = await dumpKeys(c, [0, 3]);
      await fillMixed(c, 'later:');
      await c.del('b:s7');

      // The writer, through the restore and the kills: refused writes are retried as new keys.
      const acked: Array<{ key: string; atMs: number }> = [];
      let refusedDuringRestore = 0;
      let restoring = false;
      let writing = true;
      await w.ping();
      const writer = (async () => {
        for (let n = 0; writing; n++) {
          try {
            await w.set(`w:${n}`, 'x');
            acked.push({ key: `w:${n}`, atMs: Date.now() });
          } catch {
            if (restoring) refusedDuringRestore++;
            await sleep(5);
          }
        }
      })();

      restoring = true;
      await sdk.restoreInstance({ cacheInstanceId: id, baseId });
      for (const delay of [5, 150]) {
        await sleep(delay);
        await svc.stop('SIGKILL');
        await svc.start();
      }
      expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
      const backAt = Date.now();
      restoring = false;
      // Until the writer has had writes acknowledged after `running` (its connection may still be in its
      // reconnect back-off; a fixed 100 ms once saw none), at most 15 s: those writes must survive.
      for (const until = Date.now() + 15_000; Date.now() < until && acked.filter((a) => a.atMs > backAt).length < 3; ) await sleep(20);
      writing = false;
      await writer;

      const after = await dumpKeys(c, [0, 3]);
      const writerKeys = Object.keys(after).filter((k) => k.startsWith('0:w:'));
      const rest = Object.fromEntries(Object.entries(after).filter(([k]) => !k.startsWith('0:w:')));
      expect(rest).toEqual(atBackup);
      const keptAfterBack = acked.filter((a) => a.atMs > backAt).map((a) => `0:${a.key}`);
      expect(keptAfterBack.length).toBeGreaterThan(0);
      expect(keptAfterBack.filter((k) => !writerKeys.includes(k))).toEqual([]);
      // Writes during the restore were refused (connection refused or LOADING), not taken and dropped.
      expect(refusedDuringRestore).toBeGreaterThan(0);
      const desc = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
      expect(desc.port).toBe(port);
      expect(await c.info('replication')).toMatch(/connected_slaves:1/);
    } finally {
      c.disconnect();
      w.disconnect();
    }
  }, 120_000);
});
