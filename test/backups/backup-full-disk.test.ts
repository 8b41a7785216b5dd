/**
 * A full backup disk: JCS_BACKUP_DIR on a 1 MB tmpfs that is filled. createBackup ends failed with the
 * reason, leaves no partial file (in the store or in the node's directory), and the instance keeps
 * serving reads and writes; once space returns the next backup succeeds. Mounting needs root (CI runs
 * as root); elsewhere the test is skipped and says why. Ports 25550-25569 belong to this file.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { backupEnd, type BackupSdk } from './backup-helpers.ts';

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn('backup-full-disk.test.ts: skipped: mounting a tmpfs needs root (CI runs as root)');

let svc: TestService | null = null;
let root = '';
let mountPoint = '';
let client: Redis | null = null;

afterAll(async () => {
  client?.disconnect();
  await svc?.destroy();
  if (mountPoint) execFileSync('umount', ['-l', mountPoint]);
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Writes into `file` until the file system says ENOSPC. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  try {
    for (const size of [65536, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!isRoot)('a full backup disk', () => {
  it('fails the backup with the reason, harms nothing, and the next backup works once there is space', async () => {
    root = mkdtempSync(join(tmpdir(), 'jcs-backup-disk-'));
    mountPoint = join(root, 'store');
    mkdirSync(mountPoint);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mountPoint]);
    svc = await startTestService({ instancePorts: '25550-25569', env: { JCS_BACKUP_DIR: mountPoint, JCS_TASK_ATTEMPTS: '2' } });
    const sdk = svc.sdk() as BackupSdk;
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const port = ((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number }).port;
    client = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', maxRetriesPerRequest: 1 });
    const p = client.pipeline();
    for (let i = 0; i < 2_000; i++) p.set(`k${i}`, 'x'.repeat(100));
    await p.exec();
    fillDisk(join(mountPoint, 'filler'));

    const failed = await backupEnd(sdk, id, (await sdk.createBackup({ cacheInstanceId: id, fileName: 'no_room', backupType: 1 })).result.baseId as string);
    expect(failed).toMatchObject({ backupStatus: 1, backupSize: 0, failureReason: expect.stringMatching(/no space left in the backup store/) });
    expect(readdirSync(mountPoint).filter((f) => f !== 'filler' && f !== '.staging')).toEqual([]);
    expect(readdirSync(join(mountPoint, '.staging'))).toEqual([]);
    const nodeDirs = readdirSync(join(svc.dataDir, 'instances', id)).filter((d) => /^\d+$/.test(d));
    expect(nodeDirs.filter((d) => existsSync(join(svc!.dataDir, 'instances', id, d, 'dump.rdb')))).toEqual([]);
    expect(await client.set('after', 'ok')).toBe('OK');
    expect(await waitForStatus(sdk, id, ['running'])).toBe('running');

    rmSync(join(mountPoint, 'filler'));
    const ok = await backupEnd(sdk, id, (await sdk.createBackup({ cacheInstanceId: id, fileName: 'room_again', backupType: 1 })).result.baseId as string);
    expect(ok).toMatchObject({ backupStatus: 2, snapshotSource: 'replica' });
  }, 60_000);
});
