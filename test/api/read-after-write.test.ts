/**
 * Describe and list answers are cached until the store changes (src/api/response-cache.ts): through
 * the SDK against the real service, every write is visible to the very next read, and the cache
 * never shows one account's instance to another.
 */
import { describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { insertInstance, updateInstance } from '../../src/store/instances-repo.ts';
import { instanceRow } from '../helpers/instance-row.ts';
import { startTestService, TEST_AK } from '../helpers/test-service.ts';

describe('cached reads', () => {
  it('see every write at once and keep accounts apart', async () => {
    const svc = await startTestService({ instancePorts: '19720-19729' });
    try {
      // Rows in `creating` without a task: the engine leaves them alone, so no process is started.
      for (let i = 0; i < 3; i++) {
        await insertInstance(svc.db, instanceRow({ id: `redis-cache${String(i).padStart(7, '0')}`, account: TEST_AK, name: `cached_${i}`, created_ms: 1000 + i }), []);
      }
      const sdk = svc.sdk();
      const id = 'redis-cache0000001';
      const describeName = async () => (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceName as string;
      const listNames = async () =>
        ((await sdk.describeCacheInstances({})).result.cacheInstances as { cacheInstanceName: string }[]).map((c) => c.cacheInstanceName);

      // Warm both reads, then change the name through the API: the next reads show the new name.
      const first = await sdk.describeCacheInstance({ cacheInstanceId: id });
      const again = await sdk.describeCacheInstance({ cacheInstanceId: id });
      expect(again.result).toEqual(first.result);
      expect(again.requestId).not.toBe(first.requestId);
      expect(await listNames()).toEqual(['cached_2', 'cached_1', 'cached_0']);
      await sdk.modifyCacheInstanceAttribute({ cacheInstanceId: id, cacheInstanceName: 'renamed_1' });
      expect(await describeName()).toBe('renamed_1');
      expect(await listNames()).toEqual(['cached_2', 'renamed_1', 'cached_0']);

      // A write the engine makes (straight to the store, as its status changes are) is seen at once too.
      // (`changing` without a task: the health loop, which watches running and error, leaves it alone.)
      await updateInstance(svc.db, id, { status: 'changing' });
      const described = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
      expect(described.cacheInstanceStatus).toBe('changing');

      // A second account: the owner's cached answers are never its answers.
      await createAccount(svc.db, { accessKey: 'OTHERAK', secretKey: 'OTHERSK' });
      const other = svc.sdk('OTHERAK', 'OTHERSK');
      await expect(other.describeCacheInstance({ cacheInstanceId: id })).rejects.toMatchObject({ error: { status: 'NOT_FOUND' } });
      expect((await other.describeCacheInstances({})).result).toMatchObject({ cacheInstances: [], totalCount: 0 });
      // And the other account's empty list did not become the owner's.
      expect(await listNames()).toHaveLength(3);
    } finally {
      // destroy, not close: close leaves the data directory (and any node) behind on every run.
      await svc.destroy();
    }
  });
});
