/**
 * A full disk under an instance: its nodes' directories sit on a 16 MB tmpfs that is then filled. Redis
 * refuses writes (MISCONF) once its AOF cannot be written; the instance must show that as `error` with
 * a readable cause, the service must keep answering, and everything must recover without an API call
 * once space returns. Mounting needs root (CI runs as root); elsewhere the test is skipped and says why.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { instancePids, killInstanceProcesses, msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { plainClient } from './chaos-writer.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('full-disk.test.ts: skipped: mounting a tmpfs needs root (CI runs as root)');

let svc: TestService | null = null;
let mountPoint = '';

afterAll(async () => {
  if (!svc) {
    // The service did not start: nothing runs on the tmpfs, only the mount and the directory remain.
    if (mountPoint) execFileSync('umount', ['-l', mountPoint]);
    if (mountPoint) rmSync(join(mountPoint, '..'), { recursive: true, force: true });
    return;
  }
  // Order matters: stop the engine (it would restart nodes), kill the nodes (they hold files on the
  // tmpfs), unmount, then let destroy remove the now plain directory.
  await svc.close();
  killInstanceProcesses(svc.dataDir);
  if (mountPoint) execFileSync('umount', ['-l', mountPoint]);
  await svc.destroy();
});

/** Writes zeros into `file` until the file system says ENOSPC; returns the bytes written. */
function fillDisk(file: string): number {
  const fd = openSync(file, 'w');
  let written = 0;
  try {
    for (const size of [1024 * 1024, 4096, 512]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

describe('a full disk under an instance', () => {
  it.skipIf(!isRoot)('shows error with the cause, keeps the service up, and recovers when space returns', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'jcs-fulldisk-'));
    const instancesDir = join(dataDir, 'instances');
    mkdirSync(instancesDir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', instancesDir]);
    mountPoint = instancesDir; // only once mounted: afterAll unmounts it
    svc = await startTestService({ instancePorts: '21300-21399', dataDir });
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const { port } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
    const c = plainClient('127.0.0.1', port);
    await c.connect();
    await c.call('AUTH', 'Passw0rd1');
    try {
      for (let i = 0; i < 100; i++) await c.set(`before:${i}`, 'x'.repeat(100));

      const filler = join(mountPoint, 'filler');
      expect(fillDisk(filler)).toBeGreaterThan(0);
      // The next AOF write fails; from then on Redis refuses writes with MISCONF. The value is far larger
      // than the few KB a truncated short write can hand back, so Redis's own retries keep failing.
      let refused = '';
      for (let i = 0; i < 200 && !refused; i++) {
        await c.set(`during:${i}`, 'y'.repeat(256 * 1024)).catch((err: Error) => (refused = err.message));
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(refused).toMatch(/MISCONF.*AOF/);

      expect(await waitForStatus(sdk, id, ['error'], 10_000)).toBe('error');
      const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
      expect(ci.extension.statusReason).toMatch(/cannot write its AOF: the disk holding .*instances.* is full/);
      // The control plane itself is unaffected: its store is on another disk.
      expect((await sdk.describeUserQuota({})).result.quota.used).toBe(1);

      rmSync(filler);
      // Redis retries the AOF write by itself; the health loop sees it and flips the status back.
      const back = await waitForStatus(sdk, id, ['running'], 20_000).catch(async (err: Error) => {
        const now = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
        throw new Error(`${err.message}: ${now.extension.statusReason}`);
      });
      expect(back).toBe('running');
      await c.set('after', '1');
      expect(await c.get('before:99')).toBe('x'.repeat(100));
    } finally {
      c.disconnect();
    }

    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(sdk, id, ['gone'])).toBe('gone');
    expect(instancePids(svc.dataDir)).toEqual([]);
  });
});
