/**
 * A password reset or resize accepted right after a node died (found by the chaos run): the health loop
 * leaves an instance with a pending task alone, so the task itself must bring the dead node back
 * instead of failing every attempt for half a minute while the published endpoint is down.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { plainClient } from './chaos-writer.ts';

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '21400-21499' });
});
afterAll(async () => {
  await svc?.destroy();
});

function killNode(id: string, port: number): void {
  const pid = Number(readFileSync(join(svc.dataDir, 'instances', id, String(port), 'redis.pid'), 'utf8'));
  process.kill(pid, 'SIGKILL');
}

async function firstWriteWithin(port: number, password: string, ms: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    const c = plainClient('127.0.0.1', port);
    try {
      await c.connect();
      await c.call('AUTH', password);
      await c.set('after', '1');
      return Date.now() - t0;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      c.disconnect();
    }
  }
  throw new Error(`no write succeeded on port ${port} within ${ms} ms`);
}

describe('a live change right after a node died', () => {
  it('a password reset brings the dead master back and applies the new password within seconds', async () => {
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1' }) })).result.cacheInstanceId as string;
    await waitForStatus(sdk, id, ['running']);
    const { port } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
    killNode(id, port);
    // Accepted while still `running`: the health loop (500 ms) has not noticed the kill yet.
    await sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'Passw0rd2' });
    expect(await waitForStatus(sdk, id, ['running', 'error'], 10_000)).toBe('running');
    expect(await firstWriteWithin(port, 'Passw0rd2', 5_000)).toBeLessThan(5_000);
  });

  it('a resize brings the dead replica back and applies the new class within seconds', async () => {
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1' }) })).result.cacheInstanceId as string;
    await waitForStatus(sdk, id, ['running']);
    const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
    const rows = await svc.db.selectFrom('ports').selectAll().where('instance_id', '=', id).execute();
    const replica = rows.find((r) => r.role === 'ms-s0-replica')!.port;
    expect(replica).not.toBe(ci.port);
    killNode(id, replica);
    await sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.small.basic' });
    expect(await waitForStatus(sdk, id, ['running', 'error'], 10_000)).toBe('running');
    const now = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(now.cacheInstanceClass).toBe('redis.m.small.basic');
    const c = plainClient('127.0.0.1', replica);
    try {
      await c.connect();
      await c.call('AUTH', 'Passw0rd1');
      expect(String(await c.info('memory'))).toMatch(/maxmemory:2147483648\r\n/);
    } finally {
      c.disconnect();
    }
  });
});
