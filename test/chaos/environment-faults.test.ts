/**
 * Environment faults: a missing or crashing redis-server, an unwritable data directory, an exhausted
 * port range. Each gives a clear error on the API or at startup, or a readable `error` status with
 * its cause; the service keeps running and nothing half-made is left behind.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startService } from '../../src/main.ts';
import { sdkError } from '../helpers/sdk-client.ts';
import { instancePids, msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const tmp = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

describe('startup faults are clear errors', () => {
  it('a missing redis-server names the fix', async () => {
    const dataDir = tmp('jcs-nobin-');
    const config = loadConfig({ JCS_DATA_DIR: dataDir, JCS_REDIS_SERVER: '/nonexistent/redis-server' }, { port: 0 });
    await expect(startService(config, pino({ level: 'silent' }))).rejects.toThrow(/not found.*apt-get install redis-server.*JCS_REDIS_SERVER/);
  });

  it('a redis-server that is too old names the fix', async () => {
    const dir = tmp('jcs-oldbin-');
    const fake = join(dir, 'redis-server');
    writeFileSync(fake, '#!/bin/sh\necho "Redis server v=6.0.16 sha=00000000:0 malloc=jemalloc-5.2.1 bits=64"\n', { mode: 0o755 });
    const config = loadConfig({ JCS_DATA_DIR: join(dir, 'data'), JCS_REDIS_SERVER: fake }, { port: 0 });
    await expect(startService(config, pino({ level: 'silent' }))).rejects.toThrow(/6\.0\.16, too old/);
  });

  it('an unwritable data directory is refused at startup', async () => {
    if (process.getuid?.() === 0) {
      // Root ignores directory permissions; a path under a regular file can never be created.
      const dir = tmp('jcs-ro-');
      writeFileSync(join(dir, 'file'), 'x');
      const config = loadConfig({ JCS_DATA_DIR: join(dir, 'file', 'data') }, { port: 0 });
      await expect(startService(config, pino({ level: 'silent' }))).rejects.toThrow(/ENOTDIR|not a directory/i);
      return;
    }
    const dir = tmp('jcs-ro-');
    chmodSync(dir, 0o500);
    const config = loadConfig({ JCS_DATA_DIR: join(dir, 'data') }, { port: 0 });
    await expect(startService(config, pino({ level: 'silent' }))).rejects.toThrow(/EACCES|permission/i);
  });
});

describe('faults while running', () => {
  it('an exhausted port range is QUOTA_EXCEEDED with the range named, and creates nothing', async () => {
    // Seven ports: one master-slave instance takes four (two client ports, two TLS ports).
    const svc: TestService = await startTestService({ instancePorts: '19600-19606' });
    cleanups.push(() => svc.destroy());
    const sdk = svc.sdk();
    const first = (await sdk.createCacheInstance({ cacheInstance: msSpec() })).result.cacheInstanceId as string;
    const err = await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec() }));
    expect(err).toMatchObject({ code: 429, status: 'QUOTA_EXCEEDED' });
    expect(err.message).toMatch(/no free instance ports left in 19600-19606/);
    expect((await sdk.describeCacheInstances({})).result.totalCount).toBe(1);
    expect(await waitForStatus(sdk, first, ['running', 'error'])).toBe('running');
  });

  it('a redis-server that crashes on start puts the instance in error with the cause; delete cleans up', async () => {
    const dir = tmp('jcs-crashbin-');
    const fake = join(dir, 'redis-server');
    // Answers --version like Redis 7 and runs the driver's scratch server (no TCP port: it learns how
    // the binary prints ACL rules at start), then dies at once when asked to serve an instance.
    const real = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
    writeFileSync(fake, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Redis server v=7.0.15 sha=0:0 malloc=libc bits=64"; exit 0; fi\nif grep -q '^port 0$' "$1"; then exec ${real} "$@"; fi\nexit 1\n`, {
      mode: 0o755,
    });
    const svc = await startTestService({ instancePorts: '19610-19629', env: { JCS_REDIS_SERVER: fake, JCS_TASK_ATTEMPTS: '3' } });
    cleanups.push(() => svc.destroy());
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec() })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('error');
    const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(ci.extension.statusReason).toMatch(/create failed/);
    const task = await svc.db.selectFrom('tasks').selectAll().where('instance_id', '=', id).executeTakeFirstOrThrow();
    expect(task.state).toBe('failed');
    expect(task.last_error.length).toBeGreaterThan(0);
    // The service is still up and the instance can be deleted, leaving nothing behind.
    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(sdk, id, ['gone', 'error'], 60_000)).toBe('gone');
    expect(await svc.db.selectFrom('ports').selectAll().execute()).toEqual([]);
    expect(instancePids(svc.dataDir)).toEqual([]);
  });
});
