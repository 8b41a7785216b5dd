// Observation 5 of issue 11, capacity half: 20 instances of 32 GB were all "running" on a 23.5 GiB host,
// and one create with 32 shards started 64 processes and counted as 1 toward the quota. Through the
// official SDK against the real service: host admission control and the node and memory quotas.
// Ports 25000-25299 belong to this file (cluster bus ports are +10000).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { promisedNodeMemoryBytes } from '../../src/drivers/local/memory-guard.ts';
import { sdkError, type SdkRedis } from '../helpers/sdk-client.ts';
import { instancePids, msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

const MiB = 1024 * 1024;
/** Promised MB of one node of `maxmemoryMb`, as admission control counts it. */
const nodeMb = (maxmemoryMb: number): number => Math.ceil(promisedNodeMemoryBytes(maxmemoryMb * MiB) / MiB);
const MICRO_MB = 2 * nodeMb(1024); // redis.m.micro.basic: a 1 GB master and its replica

/** Everything a create leaves behind: rows, tasks, port reservations, directories, processes. */
async function footprint(svc: TestService) {
  const dirs = (() => {
    try {
      return readdirSync(join(svc.dataDir, 'instances')).filter((n) => n.startsWith('redis-')).sort();
    } catch {
      return [];
    }
  })();
  return {
    instances: (await svc.db.selectFrom('instances').select(['id', 'instance_class', 'shard_number', 'status']).orderBy('id').execute()),
    tasks: (await svc.db.selectFrom('tasks').select(['id', 'instance_id', 'kind', 'state']).orderBy('id').execute()),
    ports: (await svc.db.selectFrom('ports').selectAll().orderBy('port').execute()),
    dirs,
    processes: instancePids(svc.dataDir).length,
  };
}

async function waitSettled(svc: TestService): Promise<void> {
  await svc.engine.idle(60_000);
}

describe('host admission control', () => {
  // Room for exactly two micro instances and 500 MB more.
  const limitMb = 2 * MICRO_MB + 500;
  const hostMb = limitMb + 1024;
  let svc: TestService;
  let other: SdkRedis;
  const accepted: { id: string; sdk: SdkRedis }[] = [];

  beforeAll(async () => {
    svc = await startTestService({ instancePorts: '25000-25099', env: { JCS_HOST_MEMORY_MB: String(hostMb), JCS_QUOTA: '10' } });
    await createAccount(svc.db, { accessKey: 'ADMITOTHERAK', secretKey: 'ADMITOTHERSK' });
    other = svc.sdk('ADMITOTHERAK', 'ADMITOTHERSK');
  });
  afterAll(async () => {
    await svc?.destroy();
  });

  it('admits concurrent creates of two accounts only up to the host budget', async () => {
    const mine = svc.sdk();
    const calls = [mine, other, mine, other].map((sdk, i) =>
      sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: `admit_${i}` }) }).then((r) => ({ id: r.result.cacheInstanceId as string, sdk })),
    );
    const results = await Promise.allSettled(calls);
    const ok = results.filter((r): r is PromiseFulfilledResult<{ id: string; sdk: SdkRedis }> => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(ok).toHaveLength(2);
    expect(refused).toHaveLength(2);
    for (const r of refused) expect((r.reason as { error: { status: string; message: string } }).error).toMatchObject({ status: 'QUOTA_EXCEEDED' });
    for (const r of ok) {
      accepted.push(r.value);
      await waitForStatus(r.value.sdk, r.value.id, ['running']);
    }
  });

  it('refuses the next create with the figures, and makes nothing of it', async () => {
    const before = await footprint(svc);
    expect(before.instances).toHaveLength(2);
    expect(before.processes).toBe(4);
    const err = await sdkError(svc.sdk().createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'one_too_many' }) }));
    expect(err).toMatchObject({ code: 429, status: 'QUOTA_EXCEEDED' });
    expect(err.message).toContain(`needs ${MICRO_MB} MB more`);
    expect(err.message).toContain(`2 x ${nodeMb(1024)} MB: maxmemory 1024 MB`);
    expect(err.message).toContain(`${2 * MICRO_MB} MB is promised to the instances on this host`);
    expect(err.message).toContain(
      `the limit is ${limitMb} MB = JCS_MEMORY_OVERCOMMIT 1 x (host memory ${hostMb} MB - JCS_MEMORY_RESERVE_MB 1024 MB), so 500 MB is free`,
    );
    await waitSettled(svc);
    expect(await footprint(svc)).toEqual(before);
  });

  it('refuses a resize beyond the budget; the instance keeps running its old class', async () => {
    const { id, sdk } = accepted[0]!;
    const before = await footprint(svc);
    const err = await sdkError(sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.small.basic' }));
    expect(err).toMatchObject({ code: 429, status: 'QUOTA_EXCEEDED' });
    // Only the difference counts: 2 nodes of 2 GB instead of 2 nodes of 1 GB.
    expect(err.message).toContain(`needs ${2 * nodeMb(2048) - MICRO_MB} MB more`);
    expect(err.message).toContain(`resizing cacheInstance ${id} from redis.m.micro.basic`);
    await waitSettled(svc);
    expect(await footprint(svc)).toEqual(before);
    const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(ci).toMatchObject({ cacheInstanceStatus: 'running', cacheInstanceClass: 'redis.m.micro.basic', cacheInstanceMemoryMB: 1024 });
    const client = new Redis({ host: '127.0.0.1', port: ci.port as number, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      expect(await client.info('memory')).toMatch(/^maxmemory:1073741824\r?$/m);
    } finally {
      client.disconnect();
    }
  });

});

describe('node and memory quotas per account', () => {
  // An 8-shard cluster (16 processes) makes the point as well as the observed 32 shards, in a fifth of the time.
  const QUOTA_NODES = 17;
  const CLUSTER_8_MB = 16 * nodeMb(1024);
  const QUOTA_MEMORY_MB = CLUSTER_8_MB + 1000;
  let svc: TestService;

  beforeAll(async () => {
    svc = await startTestService({
      instancePorts: '25100-25299',
      env: { JCS_QUOTA_NODES: String(QUOTA_NODES), JCS_QUOTA_MEMORY_MB: String(QUOTA_MEMORY_MB) },
    });
  });
  afterAll(async () => {
    await svc?.destroy();
  });

  const cluster = (shards: number, cls = 'redis.o.1g.basic') =>
    msSpec({ cacheInstanceName: `quota_${shards}`, cacheInstanceClass: cls, shardNumber: shards, redisVersion: '7.0' });

  it('counts an 8-shard native cluster as 16 nodes, and promised memory against JCS_QUOTA_MEMORY_MB', async () => {
    const sdk = svc.sdk();
    const micro = (await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'quota_micro' }) })).result.cacheInstanceId as string;
    await waitForStatus(sdk, micro, ['running']);
    const before = await footprint(svc);

    const nodes = await sdkError(sdk.createCacheInstance({ cacheInstance: cluster(8) }));
    expect(nodes).toMatchObject({ code: 429, status: 'QUOTA_EXCEEDED' });
    expect(nodes.message).toContain(`JCS_QUOTA_NODES allows ${QUOTA_NODES} nodes in cn-north-1; 2 are in use and this needs 16 more`);

    const memory = await sdkError(sdk.createCacheInstance({ cacheInstance: cluster(3, 'redis.o.32g.basic') }));
    expect(memory).toMatchObject({ code: 429, status: 'QUOTA_EXCEEDED' });
    expect(memory.message).toContain(
      `JCS_QUOTA_MEMORY_MB allows ${QUOTA_MEMORY_MB} MB of promised memory in cn-north-1; ${MICRO_MB} MB is in use and this needs ${6 * nodeMb(32768)} MB more`,
    );
    await waitSettled(svc);
    const after = await footprint(svc);
    expect(after).toEqual(before);
    expect(after.dirs).toEqual([micro]);

    await sdk.deleteCacheInstance({ cacheInstanceId: micro });
    await waitForStatus(sdk, micro, ['gone']);

    // Alone, the 8 shards fit: 16 nodes of 17, 16 promised nodes of memory.
    const big = (await sdk.createCacheInstance({ cacheInstance: cluster(8) })).result.cacheInstanceId as string;
    expect((await sdk.describeUserQuota({})).result.quota).toEqual({ name: '缓存Redis', max: 20, used: 1 });
    const next = await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'quota_after' }) }));
    expect(next.status).toBe('QUOTA_EXCEEDED');
    expect(next.message).toContain('16 are in use and this needs 2 more');

    await waitForStatus(sdk, big, ['running'], 120_000);
    expect(instancePids(svc.dataDir)).toHaveLength(16);
    await sdk.deleteCacheInstance({ cacheInstanceId: big });
    await waitForStatus(sdk, big, ['gone'], 60_000);
  }, 180_000);
});
