/**
 * The nine operations through the official jdcloud-sdk-js, against real redis-server processes:
 * what a user of the SDK sees, and what a Redis client then finds at connectionDomain:port.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError } from '../helpers/sdk-client.ts';
import { instancePids, msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
const clients: Redis[] = [];

function connect(port: number, password?: string): Redis {
  // No ready check: it runs INFO before AUTH results are known and hides NOAUTH/WRONGPASS behind a closed connection.
  const c = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined); // failures are asserted on the commands themselves
  clients.push(c);
  return c;
}

async function infoField(c: Redis, section: string, field: string): Promise<string> {
  const text = await c.info(section);
  const line = text.split('\r\n').find((l) => l.startsWith(`${field}:`));
  return line ? line.slice(field.length + 1) : '';
}

const portOpen = async (port: number): Promise<boolean> => {
  const c = connect(port);
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
};

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '18000-18099' });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

describe('master-slave instance through the official SDK', () => {
  let id = '';
  let port = 0;

  it('creates an instance with a password and reports it running with every CacheInstance field', async () => {
    const sdk = svc.sdk();
    const created = await sdk.createCacheInstance({
      cacheInstance: msSpec({ password: 'Abcd1234', cacheInstanceDescription: 'd', userTags: [{ key: 'env', value: 'ci' }] }),
      charge: { chargeMode: 'postpaid_by_duration' },
    });
    expect(created.requestId).toMatch(/^[a-z0-9]{32}$/);
    expect(created.result.cacheInstanceId).toMatch(/^redis-[a-z0-9]{12}$/);
    expect(created.result.orderNum).toMatch(/^\d{17}$/);
    expect(created.result.buyId).toMatch(/^B\d{18}$/);
    id = created.result.cacheInstanceId;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');

    const { cacheInstance: ci } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result;
    expect(ci).toMatchObject({
      cacheInstanceId: id,
      cacheInstanceName: 'test_redis',
      cacheInstanceClass: 'redis.m.micro.basic',
      cacheInstanceMemoryMB: 1024,
      cacheInstanceStatus: 'running',
      cacheInstanceDescription: 'd',
      azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
      vpcId: 'vpc-test',
      subnetId: 'subnet-test',
      connectionDomain: '127.0.0.1',
      auth: true,
      redisVersion: '4.0',
      cacheInstanceType: 'master-slave',
      shardNumber: 1,
      memoryMBPerShard: 1024,
      tags: [{ key: 'env', value: 'ci' }],
      charge: { chargeMode: 'postpaid_by_duration', chargeStatus: 'normal' },
    });
    expect(ci.createTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(ci.instanceVersion).toMatch(/^4\.0-\d+\.\d+$/);
    expect(ci.port).toBeGreaterThanOrEqual(18000);
    port = ci.port as number;
  });

  it('serves real Redis at connectionDomain:port with the class settings and a linked replica', async () => {
    const c = connect(port, 'Abcd1234');
    await c.connect();
    expect(await c.ping()).toBe('PONG');
    await c.set('k1', 'v1');
    expect(await c.get('k1')).toBe('v1');
    expect(await infoField(c, 'memory', 'maxmemory')).toBe(String(1024 * 1024 * 1024));
    expect(await infoField(c, 'replication', 'role')).toBe('master');
    expect(await infoField(c, 'replication', 'connected_slaves')).toBe('1');
    // The customer may not reconfigure what the class promises.
    await expect(c.config('SET', 'maxmemory', '0')).rejects.toThrow(/NOPERM/);
    const anonymous = connect(port);
    await anonymous.connect();
    await expect(anonymous.get('k1')).rejects.toThrow(/NOAUTH/);
  });

  it('lists it with filters and tag filters', async () => {
    const sdk = svc.sdk();
    const hit = await sdk.describeCacheInstances({
      pageNumber: 1,
      pageSize: 10,
      filters: [
        { name: 'cacheInstanceName', values: ['test'] },
        { name: 'cacheInstanceStatus', values: ['running', 'error'] },
        { name: 'instanceType', values: ['redis'] },
      ],
      tagFilters: [{ key: 'env', values: ['ci'] }],
      sorts: [{ name: 'createTime', direction: 'desc' }],
    });
    expect(hit.result.totalCount).toBe(1);
    expect(hit.result.cacheInstances[0].cacheInstanceId).toBe(id);
    const miss = await sdk.describeCacheInstances({ tagFilters: [{ key: 'env', values: ['prod'] }] });
    expect(miss.result).toEqual({ cacheInstances: [], totalCount: 0 });
  });

  it('renames and describes, and refuses an empty modification', async () => {
    const sdk = svc.sdk();
    await sdk.modifyCacheInstanceAttribute({ cacheInstanceId: id, cacheInstanceName: '新名字_2', cacheInstanceDescription: 'x y' });
    const { cacheInstance } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result;
    expect(cacheInstance.cacheInstanceName).toBe('新名字_2');
    expect(cacheInstance.cacheInstanceDescription).toBe('x y');
    const err = await sdkError(sdk.modifyCacheInstanceAttribute({ cacheInstanceId: id }));
    expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(err.message).toMatch(/cacheInstanceName/);
  });

  it('resets the password live: old refused, new accepted, an open connection keeps working', async () => {
    const sdk = svc.sdk();
    const open = connect(port, 'Abcd1234');
    await open.connect();
    await sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'NewPass99' });
    expect(await waitForStatus(sdk, id, ['running'])).toBe('running');
    expect(await open.get('k1')).toBe('v1');
    const old = connect(port);
    await old.connect();
    await expect(old.auth('Abcd1234')).rejects.toThrow(/WRONGPASS/);
    const fresh = connect(port, 'NewPass99');
    await fresh.connect();
    expect(await fresh.get('k1')).toBe('v1');
    // And to password-free: auth becomes false and no password is needed.
    await sdk.resetCacheInstancePassword({ cacheInstanceId: id });
    await waitForStatus(sdk, id, ['running']);
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.auth).toBe(false);
    const free = connect(port);
    await free.connect();
    expect(await free.get('k1')).toBe('v1');
  });

  it('resizes live: maxmemory follows the class, keys stay, same pid', async () => {
    const sdk = svc.sdk();
    const c = connect(port);
    await c.connect();
    const pidBefore = await infoField(c, 'server', 'process_id');
    for (let i = 0; i < 100; i++) await c.set(`key:${i}`, `value:${i}`);
    const res = await sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.small.basic' });
    expect(res.result.orderNum).toMatch(/^\d{17}$/);
    expect(await waitForStatus(sdk, id, ['running'])).toBe('running');
    expect(await infoField(c, 'memory', 'maxmemory')).toBe(String(2 * 1024 * 1024 * 1024));
    expect(await c.get('key:99')).toBe('value:99');
    expect(await infoField(c, 'server', 'process_id')).toBe(pidBefore);
    const { cacheInstance } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result;
    expect(cacheInstance).toMatchObject({ cacheInstanceClass: 'redis.m.small.basic', cacheInstanceMemoryMB: 2048 });
    const same = await sdkError(sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.small.basic' }));
    expect(same).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
  });

  it('reports quota and instance classes', async () => {
    const sdk = svc.sdk();
    expect((await sdk.describeUserQuota({})).result).toEqual({ quota: { name: '缓存Redis', max: 20, used: 1 } });
    const classes = (await sdk.describeInstanceClass({ redisVersion: '4.0' })).result;
    expect(classes.totalCount).toBe(classes.instanceClasses.length);
    expect(classes.instanceClasses).toContainEqual({
      instanceClass: 'redis.m.micro.basic',
      instanceType: 'master-slave',
      cpu: 1,
      memoryMB: 1024,
      diskGB: 20,
      maxConnection: 10000,
      bandwidthMbps: 48,
    });
    const v28 = (await sdk.describeInstanceClass({})).result.instanceClasses as { instanceClass: string; instanceType: string }[];
    // 2.8: the redis.m1.* master-slave classes and the redis.c1.* proxy clusters.
    expect(v28.every((c) => c.instanceClass.startsWith(c.instanceType === 'cluster' ? 'redis.c1.' : 'redis.m1.'))).toBe(true);
    expect(v28.some((c) => c.instanceType === 'cluster')).toBe(true);
  });

  it('deletes: processes stopped, port closed, directory gone, then NOT_FOUND', async () => {
    const sdk = svc.sdk();
    const pids = instancePids(svc.dataDir);
    expect(pids.length).toBe(2);
    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(sdk, id, ['gone'])).toBe('gone');
    expect(await portOpen(port)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(join(svc.dataDir, 'instances', id))).toBe(false);
    const ports = await svc.db.selectFrom('ports').selectAll().execute();
    expect(ports).toEqual([]);
    const err = await sdkError(sdk.describeCacheInstance({ cacheInstanceId: id }));
    expect(err).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    expect(err.message).toContain(id);
  });

  it('creates a password-free instance (auth false, no password needed)', async () => {
    const sdk = svc.sdk();
    const created = await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'nopass', password: '' }) });
    const nid = created.result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, nid, ['running', 'error'])).toBe('running');
    const { cacheInstance } = (await sdk.describeCacheInstance({ cacheInstanceId: nid })).result;
    expect(cacheInstance.auth).toBe(false);
    const c = connect(cacheInstance.port as number);
    await c.connect();
    expect(await c.ping()).toBe('PONG');
    await sdk.deleteCacheInstance({ cacheInstanceId: nid });
    await waitForStatus(sdk, nid, ['gone']);
  });
});
