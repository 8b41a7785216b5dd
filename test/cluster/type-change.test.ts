// Type change master-slave -> native-cluster -> master-slave through the SDK, on real Redis.
// Ports 20600-20799 belong to this file (cluster bus ports are +10000).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { processesUnder, portOpen } from '../drivers/local-harness.ts';
import { waitForStatus } from '../helpers/test-service.ts';
import { serviceForFile } from './service-for-file.ts';
import { clusterClient } from './cluster-writer.ts';

const file = serviceForFile('20600-20799');
const PASSWORD = 'Typ3Change';
const KEYS = 3_000;

async function view(id: string): Promise<Record<string, unknown>> {
  return (await file.sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as Record<string, unknown>;
}

async function createMasterSlave(name: string): Promise<{ id: string; port: number }> {
  const res = await file.sdk.createCacheInstance({
    cacheInstance: {
      vpcId: 'vpc-test',
      subnetId: 'subnet-test',
      cacheInstanceName: name,
      cacheInstanceClass: 'redis.m.micro.basic',
      azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
      redisVersion: '7.0',
      password: PASSWORD,
    },
  });
  const id = res.result.cacheInstanceId as string;
  expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
  return { id, port: (await view(id)).port as number };
}

/** Keys of several types; every third string key expires in 10 minutes. */
async function seed(c: Redis): Promise<void> {
  const p = c.pipeline();
  for (let i = 0; i < KEYS; i++) {
    if (i % 3 === 0) p.set(`s:${i}`, `v${i}`, 'PX', 600_000);
    else p.set(`s:${i}`, `v${i}`);
  }
  p.hset('h:1', { a: '1', b: '2' });
  p.rpush('l:1', 'x', 'y', 'z');
  p.zadd('z:1', 1, 'one', 2, 'two');
  await p.exec();
}

async function checkData(get: (k: string) => Promise<string | null>, pttl: (k: string) => Promise<number>, client: Redis | ReturnType<typeof clusterClient>): Promise<void> {
  for (let i = 0; i < KEYS; i += 1) {
    expect(await get(`s:${i}`)).toBe(`v${i}`);
  }
  for (let i = 0; i < KEYS; i += 3) {
    const ttl = await pttl(`s:${i}`);
    // The deadline moved with the key (ABSTTL), not reset and not lost.
    expect(ttl).toBeGreaterThan(500_000);
    expect(ttl).toBeLessThanOrEqual(600_000);
  }
  expect(await pttl('s:1')).toBe(-1);
  expect(await client.hgetall('h:1')).toEqual({ a: '1', b: '2' });
  expect(await client.lrange('l:1', 0, -1)).toEqual(['x', 'y', 'z']);
  expect(await client.zrange('z:1', 0, -1)).toEqual(['one', 'two']);
}

describe('type change', () => {
  it('master-slave → native-cluster → master-slave keeps id, password, every key and every TTL', async () => {
    const { id, port: msPort } = await createMasterSlave('retype_roundtrip');
    const plain = new Redis({ host: '127.0.0.1', port: msPort, password: PASSWORD });
    file.disconnectAtEnd(plain);
    await seed(plain);

    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 });
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    const asCluster = await view(id);
    expect(asCluster.cacheInstanceType).toBe('native-cluster');
    expect(asCluster.shardNumber).toBe(3);
    const clusterPort = asCluster.port as number;
    // The nodes of the old topology are gone; the published port moved to the cluster's first master.
    expect(clusterPort).not.toBe(msPort);
    expect(await portOpen(msPort)).toBe(false);
    expect(await processesUnder(`${file.svc.dataDir}/instances/${id}`)).toHaveLength(6);
    const c = clusterClient('127.0.0.1', clusterPort, PASSWORD);
    file.disconnectAtEnd(c);
    await checkData((k) => c.get(k), (k) => c.pttl(k), c);
    const sizes = await Promise.all(c.nodes('master').map((n) => n.dbsize()));
    expect(sizes.every((n) => n > 0)).toBe(true);
    // describeTaskProgressList's measure of a type change: every key of the old master copied.
    const [task] = (await (file.sdk as unknown as { describeTaskProgressList: (p: unknown) => Promise<{ result: { taskProgresses: Array<{ taskId: string; taskStatus: string; progressPercent: number }> } }> }).describeTaskProgressList({ cacheInstanceId: id })).result.taskProgresses;
    expect(task).toMatchObject({ taskStatus: 'success', progressPercent: 100 });
    const moved = await file.svc.db.selectFrom('task_progress').selectAll().where('task_id', '=', Number(task!.taskId)).executeTakeFirstOrThrow();
    expect([moved.unit, Number(moved.done), Number(moved.total)]).toEqual(['keys', KEYS + 3, KEYS + 3]);
    // The cluster's nodes stop during the change back: let go of them first.
    c.disconnect();

    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.micro.basic' });
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    const back = await view(id);
    expect(back.cacheInstanceType).toBe('master-slave');
    expect(await processesUnder(`${file.svc.dataDir}/instances/${id}`)).toHaveLength(2);
    const again = new Redis({ host: '127.0.0.1', port: back.port as number, password: PASSWORD });
    file.disconnectAtEnd(again);
    await checkData((k) => again.get(k), (k) => again.pttl(k), again);
    expect(await again.dbsize()).toBe(KEYS + 3);
  });

  it('refuses master-slave → cluster when keys live outside database 0, and keeps the instance as it was', async () => {
    const { id, port } = await createMasterSlave('retype_refused');
    const plain = new Redis({ host: '127.0.0.1', port, password: PASSWORD, db: 1 });
    file.disconnectAtEnd(plain);
    await plain.set('only-in-db1', 'x');
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 });
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    const v = await view(id);
    expect(v.cacheInstanceType).toBe('master-slave');
    expect(v.port).toBe(port);
    expect(await plain.get('only-in-db1')).toBe('x');
    expect(await processesUnder(`${file.svc.dataDir}/instances/${id}`)).toHaveLength(2);
  });
});
