// Configuration, disabled commands and Redis accounts on a native cluster (every node of every shard),
// diagnostics aggregated over its shards, JD's prepaid type-change memory rule,
// and kept by a type change master-slave -> native-cluster, through the official SDK on real Redis.
// Ports 27500-27699 belong to this file.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { adminConnection } from '../drivers/local-harness.ts';
import { sdkError } from '../helpers/sdk-client.ts';
import { waitForStatus } from '../helpers/test-service.ts';
import type { SettingsSdk } from '../helpers/settings-sdk.ts';
import { serviceForFile } from './service-for-file.ts';

const file = serviceForFile('27500-27699');
const PASSWORD = 'Clust3rPass';
const BUSY = "local i = 0 while i < 300000 do i = i + 1 end return i"; // ~10 ms of Lua: over the 1 ms slow-log threshold
const sdk = (): SettingsSdk => file.sdk as SettingsSdk;

const spec = (overrides: Record<string, unknown>): Record<string, unknown> => ({
  vpcId: 'vpc-test',
  subnetId: 'subnet-test',
  cacheInstanceName: 'settings_test',
  azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
  redisVersion: '7.0',
  password: PASSWORD,
  ...overrides,
});

/** What every running node of the instance says for `CONFIG GET name` and `ACL USERS`, via the admin socket. */
async function everyNode(id: string, name: string): Promise<{ config: string[]; users: string[][] }> {
  const ports = readdirSync(join(file.svc.dataDir, 'instances', id)).filter((n) => /^\d+$/.test(n)).map(Number);
  const seen = await Promise.all(
    ports.map(async (p) => {
      const admin = await adminConnection(file.svc.dataDir, id, p);
      try {
        const config = String(((await admin.call('CONFIG', 'GET', name)) as string[])[1]);
        const users = ((await admin.call('ACL', 'USERS')) as string[]).sort();
        return { config, users };
      } finally {
        admin.disconnect();
      }
    }),
  );
  return { config: seen.map((s) => s.config), users: seen.map((s) => s.users) };
}

async function applied(id: string, call: Promise<unknown>): Promise<void> {
  await call;
  expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
}

function cluster(port: number, username: string | null, password: string): Cluster {
  const c = new Cluster([{ host: '127.0.0.1', port }], { redisOptions: { ...(username ? { username } : {}), password }, maxRedirections: 32 });
  file.disconnectAtEnd(c);
  return c;
}

let clusterId = '';

describe('tenant settings on a native cluster', () => {
  it('applies parameters, disabled commands and accounts on every node of every shard', async () => {
    const created = await sdk().createCacheInstance({ cacheInstance: spec({ cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 }) });
    const id = created.result.cacheInstanceId as string;
    clusterId = id;
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
    const port = (await sdk().describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;

    await applied(
      id,
      sdk().modifyInstanceConfig({
        cacheInstanceId: id,
        instanceConfig: [
          { configName: 'timeout', configValue: '120' },
          { configName: 'notify-keyspace-events', configValue: 'Ex' },
          { configName: 'slowlog-log-slower-than', configValue: '1000' },
        ],
      }),
    );
    await applied(id, sdk().setDisableCommands({ cacheInstanceId: id, disableCommands: ['FLUSHDB', 'KEYS'] }));
    await applied(id, sdk().createAccount({ cacheInstanceId: id, accountName: 'reader', accountPassword: 'Passw0rd1', accountPrivilege: 'RoleReadOnly' }));

    const nodes = await everyNode(id, 'timeout');
    expect(nodes.config).toEqual(Array(6).fill('120'));
    for (const users of nodes.users) expect(users).toEqual(['default', 'jcs-admin', 'jcs-replication', 'reader']);
    expect((await everyNode(id, 'notify-keyspace-events')).config).toEqual(Array(6).fill('xE'));

    const owner = cluster(port, null, PASSWORD);
    for (let i = 0; i < 30; i++) await owner.set(`k${i}`, String(i)); // keys on every shard
    for (let i = 0; i < 30; i++) await owner.eval(BUSY, 1, `k${i}`); // slow: in each shard's slow log
    await expect(owner.flushdb()).rejects.toThrow(/NOPERM/);
    const reader = cluster(port, 'reader', 'Passw0rd1');
    for (let i = 0; i < 30; i++) expect(await reader.get(`k${i}`)).toBe(String(i));
    await expect(reader.set('k1', 'x')).rejects.toThrow(/NOPERM/);
    await expect(reader.call('CLUSTER', 'FAILOVER')).rejects.toThrow(/NOPERM/);
    expect(await owner.get('k1')).toBe('1');
  });

  it('diagnostics aggregate over the shards: topology, slow log and clients with shardId', async () => {
    const id = clusterId;
    const info = (await sdk().describeClusterInfo({ cacheInstanceId: id })).result.info;
    expect(info.shards).toEqual([0, 1, 2].map((s) => ({ id: `${id}-shard-${s}` })));
    expect(info.redis).toHaveLength(6);
    for (const s of [0, 1, 2]) {
      const nodes = (info.redis as { shardId: string; role: string; address: string }[]).filter((n) => n.shardId === `${id}-shard-${s}`);
      expect(nodes.map((n) => n.role).sort()).toEqual(['master', 'replica']);
      for (const n of nodes) expect(n.address).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    const slow = (await sdk().describeSlowLog({ cacheInstanceId: id, pageSize: 100 })).result;
    const sets = (slow.slowLogs as { command: string; shardId: string }[]).filter((e) => e.command.startsWith(`eval ${BUSY} 1 k`));
    expect(sets).toHaveLength(30);
    expect(new Set(sets.map((e) => e.shardId)).size).toBe(3);
    const oneShard = (await sdk().describeSlowLog({ cacheInstanceId: id, shardId: `${id}-shard-1`, pageSize: 100 })).result;
    expect(oneShard.totalCount).toBeGreaterThan(0);
    expect(oneShard.totalCount).toBeLessThan(slow.totalCount);
    for (const e of oneShard.slowLogs as { shardId: string }[]) expect(e.shardId).toBe(`${id}-shard-1`);
    const ips = (await sdk().describeClientList({ cacheInstanceId: id })).result.ips as { ip: string; clientCount: number }[];
    expect(ips.map((i) => i.ip)).toEqual(['127.0.0.1']);
    expect(ips[0]!.clientCount).toBeGreaterThanOrEqual(3); // the cluster clients' connections to the masters
  });

  it('a type change from master-slave keeps the settings on the new cluster nodes', async () => {
    const created = await sdk().createCacheInstance({ cacheInstance: spec({ cacheInstanceClass: 'redis.m.micro.basic' }) });
    const id = created.result.cacheInstanceId as string;
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
    await applied(id, sdk().modifyInstanceConfig({ cacheInstanceId: id, instanceConfig: [{ configName: 'slowlog-max-len', configValue: '512' }] }));
    await applied(id, sdk().createAccount({ cacheInstanceId: id, accountName: 'app', accountPassword: 'Passw0rd2' }));

    await applied(id, sdk().modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 }));
    const view = (await sdk().describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(view.cacheInstanceType).toBe('native-cluster');
    const nodes = await everyNode(id, 'slowlog-max-len');
    expect(nodes.config).toEqual(Array(6).fill('512'));
    for (const users of nodes.users) expect(users).toContain('app');
    const app = cluster(view.port as number, 'app', 'Passw0rd2');
    expect(await app.set('after-retype', 'ok')).toBe('OK');
    expect(await app.get('after-retype')).toBe('ok');
  });
});

describe('prepaid type change (issue 16, gap 5)', () => {
  const prepaid = { chargeMode: 'prepaid_by_duration', chargeUnit: 'month', chargeDuration: 1 };

  it('master-slave -> cluster needs at least as much memory; cluster -> master-slave strictly more', async () => {
    const ms = (await sdk().createCacheInstance({ cacheInstance: spec({ cacheInstanceClass: 'redis.m.medium.basic' }), charge: prepaid })).result.cacheInstanceId as string;
    const nc = (await sdk().createCacheInstance({ cacheInstance: spec({ cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 4 }), charge: prepaid })).result.cacheInstanceId as string;
    for (const id of [ms, nc]) expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');

    const less = await sdkError(sdk().modifyCacheInstanceClass({ cacheInstanceId: ms, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 }));
    expect(less).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(less.message).toBe('cacheInstanceClass: a prepaid instance changing from master-slave to native-cluster needs at least as much memory as its 4096 MB; redis.o.1g.basic offers 3072 MB');
    const same = await sdkError(sdk().modifyCacheInstanceClass({ cacheInstanceId: nc, cacheInstanceClass: 'redis.m.medium.basic' }));
    expect(same.message).toBe('cacheInstanceClass: a prepaid instance changing from native-cluster to master-slave needs more memory than its 4096 MB; redis.m.medium.basic offers 4096 MB');
    for (const id of [ms, nc]) expect((await sdk().describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');

    // The same memory is enough the other way, and a postpaid instance may shrink across types.
    await applied(ms, sdk().modifyCacheInstanceClass({ cacheInstanceId: ms, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 4 }));
    expect((await sdk().describeCacheInstance({ cacheInstanceId: ms })).result.cacheInstance.cacheInstanceType).toBe('native-cluster');
    const postpaid = (await sdk().createCacheInstance({ cacheInstance: spec({ cacheInstanceClass: 'redis.m.medium.basic' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(file.sdk, postpaid, ['running', 'error'], 30_000)).toBe('running');
    await applied(postpaid, sdk().modifyCacheInstanceClass({ cacheInstanceId: postpaid, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 }));
  });
});
