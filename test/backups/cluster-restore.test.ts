/**
 * Native-cluster restores through the SDK against the real service (its own process, to SIGKILL it) and
 * real Redis: a 3-shard backup restored in place (keys written after it gone, keys deleted after it back,
 * expiries kept, endpoint and password unchanged, replicas re-synced) while a client sees its commands
 * refused with an error that says the instance is being restored and no acknowledged write is lost; the
 * same backup into a new 4-shard cluster (JD's classes have no 2-shard cluster) and into a master-slave instance; a SIGKILL of
 * the service in the middle of a cluster restore; and the refusal that names the rule (too little memory: backup-restore.test.ts).
 * Ports 25800-25899 belong to this file.
 */
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError } from '../helpers/sdk-client.ts';
import { msSpec, waitForStatus } from '../helpers/test-service.ts';
import { backupEnd, restoreWriter, startKillableService, type BackupSdk, type KillableService } from './backup-helpers.ts';

const PASSWORD = 'Abcd1234';
const KEYS = Array.from({ length: 300 }, (_, i) => `c:${i}`);
const TTL_KEYS = Array.from({ length: 20 }, (_, i) => `t:${i}`);
const ALL = [...KEYS, ...TTL_KEYS, 'h', 'z'];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let k: KillableService;
let sdk: BackupSdk;
let id: string;
let port: number;
let baseId: string;
let atBackup: Snapshot;
const clients: Array<Redis | Cluster> = [];

type Snapshot = { keys: number; values: Record<string, unknown> };

async function portOf(instanceId: string): Promise<number> {
  return ((await sdk.describeCacheInstance({ cacheInstanceId: instanceId })).result.cacheInstance as { port: number }).port;
}

function clusterClient(p: number): Cluster {
  const c = new Cluster([{ host: '127.0.0.1', port: p }], { redisOptions: { password: PASSWORD }, clusterRetryStrategy: () => 50 });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

/** Values and absolute expiries of the known keys, and how many keys the instance holds in all. */
async function snapshot(c: Redis | Cluster): Promise<Snapshot> {
  const values: Record<string, unknown> = {};
  for (const key of ALL) {
    const type = await c.type(key);
    const value = type === 'hash' ? await c.hgetall(key) : type === 'zset' ? await c.zrange(key, 0, -1, 'WITHSCORES') : type === 'string' ? await c.get(key) : null;
    values[key] = { type, value, expireAt: Number(await c.call('PEXPIRETIME', key)) };
  }
  const nodes = c instanceof Cluster ? c.nodes('master') : [c];
  const sizes = await Promise.all(nodes.map((n) => n.dbsize()));
  return { keys: sizes.reduce((a, b) => a + b, 0), values };
}

async function createFrom(spec: Record<string, unknown>): Promise<string> {
  const res = await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD, backupId: baseId, ...spec }) });
  return res.result.cacheInstanceId as string;
}

beforeAll(async () => {
  k = await startKillableService('jcs-cluster-restore-', '25800-25899');
  sdk = k.sdk;
  id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD, cacheInstanceName: 'bk_cluster', cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3, redisVersion: '7.0' }) })).result.cacheInstanceId as string;
  expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
  port = await portOf(id);
  const c = clusterClient(port);
  await Promise.all(KEYS.map((key, i) => c.set(key, String(i))));
  await Promise.all(TTL_KEYS.map((key, i) => c.set(key, `t${i}`, 'EX', 3_600 + i)));
  await c.hset('h', { a: '1', b: '2' });
  await c.pexpire('h', 7_200_000);
  await c.zadd('z', 1, 'one', 2, 'two');
  baseId = (await sdk.createBackup({ cacheInstanceId: id, fileName: 'cluster', backupType: 1 })).result.baseId as string;
  expect(await backupEnd(sdk, id, baseId)).toMatchObject({ backupStatus: 2, backupShardNum: 3 });
  atBackup = await snapshot(c);
  expect(atBackup.keys).toBe(ALL.length);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await k?.destroy();
});

describe('native-cluster restore', () => {
  it('in place: exactly the backup, endpoint and password kept, commands refused with a restore message meanwhile, no acknowledged write lost', async () => {
    const c = clusterClient(port);
    await Promise.all(Array.from({ length: 100 }, (_, i) => c.set(`after:${i}`, 'x')));
    await c.del('c:1');
    await c.del('h');
    await c.set('c:2', 'changed');
    // A plain client on the published port, writing throughout (keys of a slot that node owns: a plain
    // client does not follow MOVED).
    const writer = restoreWriter(port, PASSWORD, '{c:0}w');
    await sdk.restoreInstance({ cacheInstanceId: id, baseId });
    expect(await waitForStatus(sdk, id, ['running', 'error'], 90_000)).toBe('running');
    await sleep(200);
    const writes = await writer.stop();
    expect([...writes.refusals].map((m) => m.replace(id, 'ID'))).toContain('LOADING instance ID is being restored from a backup; commands are refused until it is running again');
    expect(await portOf(id)).toBe(port);
    const after = clusterClient(port);
    // Before the first refusal: written after the backup, gone. After the last: kept. None in between.
    expect(writes.between).toEqual([]);
    const values = async (keys: string[]): Promise<Array<string | null>> => Promise.all(keys.map((key) => after.get(key)));
    expect((await values(writes.before)).filter((v) => v !== null)).toEqual([]);
    expect((await values(writes.after)).filter((v) => v !== 'x')).toEqual([]);
    await Promise.all(writes.after.map((key) => after.del(key)));
    expect(await snapshot(after)).toEqual(atBackup);
    for (const node of after.nodes('master')) expect(await node.info('replication')).toMatch(/connected_slaves:1/);
  }, 120_000);

  it('into a new cluster of 4 shards (3 is the smallest class) and into a master-slave instance, by slot ownership', async () => {
    const four = await createFrom({ cacheInstanceName: 'from_cluster_4', cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 4, redisVersion: '7.0' });
    const ms = await createFrom({ cacheInstanceName: 'from_cluster_ms', cacheInstanceClass: 'redis.m.micro.basic' });
    for (const target of [four]) {
      expect(await waitForStatus(sdk, target, ['running', 'error'], 90_000)).toBe('running');
      const c = clusterClient(await portOf(target));
      expect(await snapshot(c)).toEqual(atBackup);
      // Every master got its share, each key on the master that owns its slot (a key elsewhere would have
      // been refused by RESTORE, and the snapshot reads every key through the slot map).
      const sizes = await Promise.all(c.nodes('master').map((node) => node.dbsize()));
      expect(sizes).toHaveLength(4);
      expect(sizes.every((n) => n > 0)).toBe(true);
    }
    expect(await waitForStatus(sdk, ms, ['running', 'error'], 90_000)).toBe('running');
    const m = new Redis({ host: '127.0.0.1', port: await portOf(ms), password: PASSWORD, retryStrategy: () => null });
    m.on('error', () => undefined);
    clients.push(m);
    expect(await snapshot(m)).toEqual(atBackup);
    for (const target of [four, ms]) await sdk.deleteCacheInstance({ cacheInstanceId: target });
  }, 180_000);

  it('resumes after a SIGKILL of the service in the middle and ends with exactly the backup', async () => {
    const c = clusterClient(port);
    await Promise.all(Array.from({ length: 50 }, (_, i) => c.set(`late:${i}`, 'x')));
    await sdk.restoreInstance({ cacheInstanceId: id, baseId });
    await sleep(150);
    await k.svc.stop('SIGKILL');
    await k.svc.start();
    expect(await waitForStatus(sdk, id, ['running', 'error'], 90_000)).toBe('running');
    expect(await snapshot(clusterClient(port))).toEqual(atBackup);
  }, 120_000);

  it('refuses a master-slave backup into a cluster naming the rule, the cluster untouched', async () => {
    const msId = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD, cacheInstanceName: 'ms_src' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, msId, ['running', 'error'], 60_000)).toBe('running');
    const msBackup = (await sdk.createBackup({ cacheInstanceId: msId, fileName: 'ms', backupType: 1 })).result.baseId as string;
    expect((await backupEnd(sdk, msId, msBackup)).backupStatus).toBe(2);
    expect(await sdkError(sdk.restoreInstance({ cacheInstanceId: id, baseId: msBackup }))).toMatchObject({
      code: 400,
      status: 'FAILED_PRECONDITION',
      message: expect.stringMatching(/^baseId: backup .* of a master-slave instance can be restored into a master-slave instance only \(the target is native-cluster\)/),
    });
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');
    await sdk.deleteCacheInstance({ cacheInstanceId: msId });
  }, 60_000);
});
