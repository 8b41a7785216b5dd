/**
 * Races: parallel creates against the quota and the port range, parallel operations on one instance,
 * a delete while creating. Outcomes must be serialised or refused, never a broken state or a leak.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError } from '../helpers/sdk-client.ts';
import { instancePids, msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

let svc: TestService;

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '18900-18999', env: { JCS_QUOTA: '5' } });
});
afterAll(async () => {
  await svc?.destroy();
});

const settled = <T>(ps: Promise<T>[]): Promise<PromiseSettledResult<T>[]> => Promise.allSettled(ps);

describe('races', () => {
  const ids: string[] = [];

  it('12 parallel creates with a quota of 5: exactly 5 succeed, no port is shared', async () => {
    const sdk = svc.sdk();
    const results = await settled(Array.from({ length: 12 }, (_, i) => sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: `race_${i}` }) })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(ok.length).toBe(5);
    for (const r of refused) expect((r.reason as { error: { status: string } }).error.status).toBe('QUOTA_EXCEEDED');
    for (const r of ok) ids.push((r.value as { result: { cacheInstanceId: string } }).result.cacheInstanceId);
    // Four ports each: two nodes, each with a client port and an internal TLS port.
    const ports = await svc.db.selectFrom('ports').selectAll().execute();
    expect(ports.length).toBe(20);
    expect(new Set(ports.map((p) => p.port)).size).toBe(20);
  });

  it('refuses a delete while the instance is creating, and leaks nothing', async () => {
    const sdk = svc.sdk();
    // At least one of the five is still creating right after the burst; whichever it is, a delete
    // either is refused (creating) or accepted (already running): never anything in between.
    const outcomes = await settled(ids.map((id) => sdk.deleteCacheInstance({ cacheInstanceId: id })));
    for (const [i, o] of outcomes.entries()) {
      if (o.status === 'rejected') {
        const err = (o.reason as { error: { status: string; message: string } }).error;
        expect(err.status).toBe('FAILED_PRECONDITION');
        expect(err.message).toMatch(/while it is creating/);
        expect(await waitForStatus(sdk, ids[i]!, ['running'])).toBe('running');
      } else {
        expect(await waitForStatus(sdk, ids[i]!, ['gone'])).toBe('gone');
      }
    }
    const remaining = ids.filter((_, i) => outcomes[i]!.status === 'rejected');
    ids.splice(0, ids.length, ...remaining);
    expect(instancePids(svc.dataDir).length).toBe(2 * ids.length);
  });

  it('parallel resize, password reset, rename and delete on one instance: serialised or refused', async () => {
    const sdk = svc.sdk();
    let id = ids[0];
    if (!id) {
      id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'race_one' }) })).result.cacheInstanceId as string;
      ids.push(id);
    }
    await waitForStatus(sdk, id, ['running']);
    const outcomes = await settled([
      sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.small.basic' }),
      sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'Abcd12345' }),
      sdk.modifyCacheInstanceAttribute({ cacheInstanceId: id, cacheInstanceName: 'renamed' }),
      sdk.deleteCacheInstance({ cacheInstanceId: id }),
    ]);
    const stateful = outcomes.filter((_, i) => i !== 2);
    // Exactly one state-changing operation wins; the others see the new status and are refused.
    expect(stateful.filter((o) => o.status === 'fulfilled').length).toBe(1);
    for (const o of stateful) {
      if (o.status === 'rejected') expect((o.reason as { error: { status: string } }).error.status).toBe('FAILED_PRECONDITION');
    }
    const end = await waitForStatus(sdk, id, ['running', 'gone']);
    if (end === 'running') {
      const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
      expect(['redis.m.micro.basic', 'redis.m.small.basic']).toContain(ci.cacheInstanceClass);
    }
  });

  it('cleans up: every instance deleted leaves no process, port or directory', async () => {
    const sdk = svc.sdk();
    const list = (await sdk.describeCacheInstances({ pageSize: 100 })).result.cacheInstances as { cacheInstanceId: string }[];
    for (const ci of list) {
      await waitForStatus(sdk, ci.cacheInstanceId, ['running', 'error']);
      await sdk.deleteCacheInstance({ cacheInstanceId: ci.cacheInstanceId });
    }
    for (const ci of list) await waitForStatus(sdk, ci.cacheInstanceId, ['gone']);
    expect(await svc.db.selectFrom('ports').selectAll().execute()).toEqual([]);
    expect(await sdkError(sdk.describeCacheInstance({ cacheInstanceId: list[0]?.cacheInstanceId ?? 'redis-none' }))).toMatchObject({ status: 'NOT_FOUND' });
    await svc.engine.idle();
    const alive = instancePids(svc.dataDir).filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
