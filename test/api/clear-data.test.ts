/**
 * Data purge (startClearData, stopClearData, describeClearData) through the official jdcloud-sdk-js
 * against the real service and real Redis: master-slave (several databases) and a 3-shard native cluster.
 * A writer runs beside each purge with keys outside its filter; every one of them must survive, and
 * effectKeys must equal the keys that actually disappeared. Ports 27300-27399 belong to this file.
 */
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { clusterClient } from '../cluster/cluster-writer.ts';
import { sdkError, type SdkBody, type SdkRedis } from '../helpers/sdk-client.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

/** The purge operations of the SDK's Redis client (the shared SdkRedis lists the core ones). */
interface PurgeSdk extends SdkRedis {
  startClearData(params: unknown, regionId?: string): Promise<SdkBody>;
  stopClearData(params: unknown, regionId?: string): Promise<SdkBody>;
  describeClearData(params: unknown, regionId?: string): Promise<SdkBody>;
}

let svc: TestService;
let sdk: PurgeSdk;
const clients: Array<{ disconnect(): void }> = [];

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '27300-27399' });
  sdk = svc.sdk() as PurgeSdk;
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

function connect(port: number, db = 0): Redis {
  const c = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', db, maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
}

async function portOf(id: string): Promise<number> {
  return ((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number }).port;
}

/** Polls describeClearData until the purge is no longer running. */
async function purgeEnd(id: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = (await sdk.describeClearData({ cacheInstanceId: id })).result as Record<string, unknown>;
    if (info.status !== 'running') return info;
    if (Date.now() > deadline) throw new Error(`purge of ${id} still running: ${JSON.stringify(info)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Writes `prefix<n>` keys until stopped; every acknowledged key is remembered. */
function writer(client: Redis | Cluster, prefix: string): { stop(): Promise<string[]> } {
  const written: string[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const key = `${prefix}${n}`;
      await client.set(key, 'w');
      written.push(key);
      if (n % 20 === 0) await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return written;
    },
  };
}

async function fill(c: Redis | Cluster, prefix: string, n: number, ttlSeconds?: number): Promise<void> {
  // One command each, not a pipeline: a cluster client refuses a pipeline over several slots.
  await Promise.all(Array.from({ length: n }, (_, i) => (ttlSeconds === undefined ? c.set(`${prefix}${i}`, 'v') : c.set(`${prefix}${i}`, 'v', 'EX', ttlSeconds))));
}

async function countExisting(c: Redis | Cluster, keys: string[]): Promise<number> {
  let n = 0;
  for (const k of keys) n += await c.exists(k);
  return n;
}

describe('data purge on a master-slave instance', () => {
  let id = '';
  let port = 0;

  beforeAll(async () => {
    const created = await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) });
    id = created.result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    port = await portOf(id);
  });

  it('answers an empty result before any purge', async () => {
    const res = await sdk.describeClearData({ cacheInstanceId: id });
    expect(res.result).toEqual({});
  });

  it('refuses bad input with a JD envelope naming the field and the rule, never a 5xx', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ clearType: 'Everything' }, 'INVALID_ARGUMENT', /clearType: must be one of AllData, ExpiredData, KeyPattern/],
      [{ clearType: 'AllData', qpsLimit: 0 }, 'OUT_OF_RANGE', /qpsLimit: must be an integer from 1 to 100000/],
      [{ clearType: 'AllData', qpsLimit: 100001 }, 'OUT_OF_RANGE', /qpsLimit/],
      [{ clearType: 'KeyPattern', keyPattern: 'a*', keyFilter: [{ filterType: 'ttl', operator: 'ge', value: 1 }] }, 'INVALID_ARGUMENT', /keyFilter\[0\]\.operator: must be eq, gt or lt/],
      [{ clearType: 'KeyPattern', keyFilter: [{ filterType: 'size', operator: 'gt', value: 1 }] }, 'INVALID_ARGUMENT', /keyFilter\[0\]\.filterType: must be ttl or idle/],
      [{ clearType: 'KeyPattern', keyFilter: [{ filterType: 'ttl', operator: 'gt', value: -1 }] }, 'OUT_OF_RANGE', /keyFilter\[0\]\.value/],
      [{ clearType: 'KeyPattern' }, 'INVALID_ARGUMENT', /keyPattern: clearType KeyPattern needs/],
      [{ clearType: 'AllData', keyPattern: 'a*' }, 'INVALID_ARGUMENT', /keyPattern: not used by clearType AllData/],
      [{ clearType: 'AllData', qpsLimit: 'many' }, 'INVALID_ARGUMENT', /qpsLimit/],
    ];
    for (const [body, status, message] of cases) {
      const err = await sdkError(sdk.startClearData({ cacheInstanceId: id, ...body }));
      expect(err, JSON.stringify(body)).toMatchObject({ code: 400, status });
      expect(err.message, JSON.stringify(body)).toMatch(message);
    }
    const none = await sdkError(sdk.stopClearData({ cacheInstanceId: id }));
    expect(none).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(none.message).toMatch(/no data purge .* is running/);
  });

  it('answers 404 for another account\'s instance, as every operation does', async () => {
    await createAccount(svc.db, { accessKey: 'OTHERAK', secretKey: 'OTHERSK' });
    const other = svc.sdk('OTHERAK', 'OTHERSK') as PurgeSdk;
    for (const call of [
      other.startClearData({ cacheInstanceId: id, clearType: 'AllData' }),
      other.stopClearData({ cacheInstanceId: id }),
      other.describeClearData({ cacheInstanceId: id }),
    ]) {
      expect(await sdkError(call)).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    }
  });

  it('purges by pattern and TTL filter in every database, with a writer beside it whose keys all survive', async () => {
    const c0 = connect(port);
    const c3 = connect(port, 3);
    await fill(c0, 'purge:long:', 120, 5_000);
    await fill(c0, 'purge:short:', 80, 100);
    await fill(c0, 'purge:none:', 50);
    await fill(c3, 'purge:long3:', 40, 5_000);
    await fill(c0, 'keep:', 200, 5_000);
    const w = writer(connect(port), 'keep:w:');
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'KeyPattern', keyPattern: 'purge:*', keyFilter: [{ filterType: 'ttl', operator: 'gt', value: 1_000 }], qpsLimit: 2_000 });
    const second = await sdkError(sdk.startClearData({ cacheInstanceId: id, clearType: 'AllData' }));
    expect(second).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(second.message).toMatch(/already running/);
    const info = await purgeEnd(id);
    const written = await w.stop();
    expect(info).toMatchObject({ clearType: 'KeyPattern', keyPattern: 'purge:*', qpsLimit: 2_000, status: 'success', progress: 100, effectKeys: 160, message: '' });
    expect(info.keyFilter).toEqual([{ filterType: 'ttl', operator: 'gt', value: 1_000 }]);
    // The JS SDK's model wraps the fields in clearDataTaskInfo; the Go SDK reads them from result itself.
    const { clearDataTaskInfo, ...flat } = info;
    expect(clearDataTaskInfo).toEqual(flat);
    expect(String(info.lastTransitionTime)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(await c0.dbsize()).toBe(80 + 50 + 200 + written.length);
    expect(await c3.dbsize()).toBe(0);
    expect(written.length).toBeGreaterThan(0);
    expect(await countExisting(c0, written)).toBe(written.length);
  });

  it('purges by idle time: recently used keys match `idle lt`, none match `idle gt` an hour', async () => {
    const c0 = connect(port);
    await fill(c0, 'idle:', 30);
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'KeyPattern', keyPattern: 'keep:*', keyFilter: [{ filterType: 'idle', operator: 'gt', value: 3_600 }] });
    expect(await purgeEnd(id)).toMatchObject({ status: 'success', effectKeys: 0 });
    expect(await c0.exists(...Array.from({ length: 200 }, (_, i) => `keep:${i}`))).toBe(200);
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'KeyPattern', keyPattern: 'idle:*', keyFilter: [{ filterType: 'idle', operator: 'lt', value: 3_600 }] });
    expect(await purgeEnd(id)).toMatchObject({ status: 'success', effectKeys: 30 });
    expect(await c0.exists(...Array.from({ length: 30 }, (_, i) => `idle:${i}`))).toBe(0);
  });

  it('keeps to qpsLimit deletions a second and counts exactly what it deleted', async () => {
    const c0 = connect(port);
    await fill(c0, 'slow:', 300);
    const w = writer(connect(port), 'keep:slow:');
    const started = Date.now();
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'KeyPattern', keyPattern: 'slow:*', qpsLimit: 100 });
    const info = await purgeEnd(id);
    const ms = Date.now() - started;
    const written = await w.stop();
    expect(info).toMatchObject({ status: 'success', effectKeys: 300, progress: 100 });
    // 300 keys at 100 a second: three seconds, less at most one batch (a tenth of a second's worth).
    expect(ms).toBeGreaterThanOrEqual(2_700);
    expect(await c0.exists(...Array.from({ length: 300 }, (_, i) => `slow:${i}`))).toBe(0);
    expect(await countExisting(c0, written)).toBe(written.length);
  });

  it('stops on stopClearData with failed, the reason, and the exact count of keys it deleted', async () => {
    const c0 = connect(port);
    await c0.flushall();
    await fill(c0, 'many:', 2_000);
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'AllData', qpsLimit: 500 });
    await new Promise((r) => setTimeout(r, 1_200));
    const mid = (await sdk.describeClearData({ cacheInstanceId: id })).result as { progress: number; status: string };
    expect(mid.status).toBe('running');
    expect(mid.progress).toBeGreaterThan(0);
    expect(mid.progress).toBeLessThan(100);
    await sdk.stopClearData({ cacheInstanceId: id });
    const info = await purgeEnd(id);
    expect(info.status).toBe('failed');
    expect(String(info.message)).toMatch(/stopped by stopClearData/);
    const effect = info.effectKeys as number;
    expect(effect).toBeGreaterThan(0);
    expect(effect).toBeLessThan(2_000);
    expect(await c0.dbsize()).toBe(2_000 - effect);
  });

  it('purges expired data: keys whose TTL has passed are reaped, live ones stay', async () => {
    const c0 = connect(port);
    await c0.flushall();
    await fill(c0, 'live:', 100);
    await fill(c0, 'soon:', 100);
    const p = c0.pipeline();
    for (let i = 0; i < 100; i++) p.pexpire(`soon:${i}`, 50);
    await p.exec();
    await new Promise((r) => setTimeout(r, 150));
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'ExpiredData' });
    const info = await purgeEnd(id);
    expect(info).toMatchObject({ clearType: 'ExpiredData', status: 'success', progress: 100 });
    // The count is what Redis reaped while the purge ran (its own expiry cycle may have taken some first).
    expect(info.effectKeys as number).toBeLessThanOrEqual(100);
    const keyspace = await c0.info('keyspace');
    expect(keyspace).toMatch(/db0:keys=100,/);
  });

  it('purges all data of every database', async () => {
    const c0 = connect(port);
    const c5 = connect(port, 5);
    await fill(c0, 'a:', 150);
    await fill(c5, 'b:', 50);
    const before = (await c0.dbsize()) + (await c5.dbsize());
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'AllData', qpsLimit: 10_000 });
    const info = await purgeEnd(id);
    expect(info).toMatchObject({ clearType: 'AllData', keyPattern: '', keyFilter: [], status: 'success', effectKeys: before, progress: 100 });
    expect(await c0.dbsize()).toBe(0);
    expect(await c5.dbsize()).toBe(0);
  });

  it('refuses a purge of an instance that is not running', async () => {
    const created = await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) });
    const fresh = created.result.cacheInstanceId as string;
    const err = await sdkError(sdk.startClearData({ cacheInstanceId: fresh, clearType: 'AllData' }));
    expect(err).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(err.message).toMatch(/while it is creating; allowed when running/);
    await waitForStatus(sdk, fresh, ['running', 'error']);
    await sdk.deleteCacheInstance({ cacheInstanceId: fresh });
  });

  it('a delete during a purge ends the purge at its next batch and deletes the instance', async () => {
    await fill(connect(port), 'slow:', 1_000);
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'AllData', qpsLimit: 50 });
    await new Promise((r) => setTimeout(r, 300));
    expect(((await sdk.describeClearData({ cacheInstanceId: id })).result as { status: string }).status).toBe('running');
    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    // 1,000 keys at 50 a second would take 20 s: the delete does not wait for the purge.
    expect(await waitForStatus(sdk, id, ['gone'], 10_000)).toBe('gone');
    expect(await sdkError(sdk.describeClearData({ cacheInstanceId: id }))).toMatchObject({ code: 404, status: 'NOT_FOUND' });
  });
});

describe('data purge with an idle filter under an LFU eviction policy', () => {
  it('fails at once, saying the policy keeps no idle time; the instance stays running', async () => {
    const created = await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234', maxmemoryPolicy: 'allkeys-lfu' }) });
    const id = created.result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    await fill(connect(await portOf(id)), 'lfu:', 20);
    const t0 = Date.now();
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'KeyPattern', keyPattern: 'lfu:*', keyFilter: [{ filterType: 'idle', operator: 'gt', value: 1 }] });
    const info = await purgeEnd(id);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(info).toMatchObject({ status: 'failed', effectKeys: 0 });
    expect(String(info.message)).toMatch(/idle filter needs an LRU or no eviction policy/);
    expect(await waitForStatus(sdk, id, ['running'])).toBe('running');
  });
});

describe('data purge on a 3-shard native cluster', () => {
  it('deletes the matching keys on every shard and leaves the writer\'s keys alone', async () => {
    const created = await sdk.createCacheInstance({
      cacheInstance: msSpec({ cacheInstanceName: 'purge_cluster', cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3, redisVersion: '7.0', password: 'Abcd1234' }),
    });
    const id = created.result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
    const c = clusterClient('127.0.0.1', await portOf(id), 'Abcd1234');
    clients.push(c);
    await fill(c, 'purge:', 600);
    await fill(c, 'keep:', 300);
    const w = writer(c, 'keep:w:');
    await sdk.startClearData({ cacheInstanceId: id, clearType: 'KeyPattern', keyPattern: 'purge:*', qpsLimit: 5_000 });
    const info = await purgeEnd(id);
    const written = await w.stop();
    expect(info, JSON.stringify(info)).toMatchObject({ status: "success", effectKeys: 600, progress: 100 });
    expect(await countExisting(c, Array.from({ length: 600 }, (_, i) => `purge:${i}`))).toBe(0);
    expect(await countExisting(c, Array.from({ length: 300 }, (_, i) => `keep:${i}`))).toBe(300);
    expect(await countExisting(c, written)).toBe(written.length);
    // Every shard held some of the keys: the purge reached all three masters.
    const masters = c.nodes('master');
    expect(masters).toHaveLength(3);
    for (const m of masters) expect(await m.dbsize()).toBeGreaterThan(0);
  });
});
