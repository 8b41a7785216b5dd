/**
 * A data purge across SIGKILLs of the service: the task resumes where it was (its progress and count
 * survive each kill), ends with effectKeys equal to the keys that really disappeared (none counted
 * twice, none missed), and a writer running beside it through the crashes, whose keys do not match,
 * loses nothing. The service runs as a separate process; Redis keeps running throughout.
 * Ports 27400-27449 belong to this file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkClient, type SdkBody, type SdkRedis } from '../helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../helpers/service-process.ts';
import { killInstanceProcesses, msSpec, removeInstanceCgroups, TEST_AK, TEST_SK, waitForStatus } from '../helpers/test-service.ts';

interface PurgeSdk extends SdkRedis {
  startClearData(params: unknown, regionId?: string): Promise<SdkBody>;
  describeClearData(params: unknown, regionId?: string): Promise<SdkBody>;
}

const PORTS = '27400-27449';
const KEYS = 3_000;
let dataDir = '';
let svc: ServiceProcess;
let sdk: PurgeSdk;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'jcs-purge-crash-'));
  svc = new ServiceProcess(dataDir, await freePort(), PORTS);
  await svc.start();
  sdk = sdkClient(svc.url, TEST_AK, TEST_SK) as PurgeSdk;
});

afterAll(async () => {
  await svc?.stop('SIGKILL');
  killInstanceProcesses(dataDir);
  await removeInstanceCgroups(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

type Info = { status: string; progress: number; effectKeys: number; message: string };
const describeClearData = async (id: string): Promise<Info> => (await sdk.describeClearData({ cacheInstanceId: id })).result as Info;

describe('data purge and SIGKILL of the service', () => {
  it('resumes where it was after each kill and counts every deleted key exactly once', async () => {
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const port = ((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number }).port;
    const c = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', maxRetriesPerRequest: 1 });
    const w = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', maxRetriesPerRequest: 1 });
    try {
      const p = c.pipeline();
      for (let i = 0; i < KEYS; i++) p.set(`purge:${i}`, 'v');
      for (let i = 0; i < 500; i++) p.set(`keep:${i}`, 'v');
      await p.exec();

      // The writer beside the purge, through every crash: Redis does not go down with the service.
      const written: string[] = [];
      let writing = true;
      const writer = (async () => {
        for (let n = 0; writing; n++) {
          await w.set(`keep:w:${n}`, 'w');
          written.push(`keep:w:${n}`);
          if (n % 10 === 0) await new Promise((r) => setTimeout(r, 2));
        }
      })();

      // 3,000 keys at 1,000 a second: three seconds of work, killed three times on the way.
      await sdk.startClearData({ cacheInstanceId: id, clearType: 'KeyPattern', keyPattern: 'purge:*', qpsLimit: 1_000 });
      let last: Info = { status: 'running', progress: 0, effectKeys: 0, message: '' };
      for (const afterMs of [600, 450, 700]) {
        await new Promise((r) => setTimeout(r, afterMs));
        const before = await describeClearData(id);
        expect(before.status).toBe('running');
        expect(before.effectKeys).toBeGreaterThanOrEqual(last.effectKeys);
        await svc.stop('SIGKILL');
        await svc.start();
        // Straight after the restart: what was recorded before the kill, not a purge begun anew.
        const after = await describeClearData(id);
        expect(after.effectKeys).toBeGreaterThanOrEqual(before.effectKeys);
        expect(after.progress).toBeGreaterThanOrEqual(before.progress);
        last = after;
      }
      expect(last.effectKeys).toBeGreaterThan(0);

      const deadline = Date.now() + 30_000;
      let end = await describeClearData(id);
      while (end.status === 'running' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        end = await describeClearData(id);
      }
      writing = false;
      await writer;
      expect(end).toMatchObject({ status: 'success', progress: 100, effectKeys: KEYS, message: '' });
      expect(await c.exists(...Array.from({ length: KEYS }, (_, i) => `purge:${i}`))).toBe(0);
      expect(await c.exists(...Array.from({ length: 500 }, (_, i) => `keep:${i}`))).toBe(500);
      expect(written.length).toBeGreaterThan(0);
      let alive = 0;
      for (const k of written) alive += await c.exists(k);
      expect(alive).toBe(written.length);
      expect(await c.dbsize()).toBe(500 + written.length);
    } finally {
      c.disconnect();
      w.disconnect();
    }
  });
});
