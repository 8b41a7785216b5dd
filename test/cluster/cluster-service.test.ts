// Native-cluster instances through the official SDK against the real service and real Redis Cluster.
// Ports 20100-20399 belong to this file (cluster bus ports are +10000).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parseClusterNodes, slotCount } from '../../src/drivers/local/cluster-nodes.ts';
import { leftovers, processesUnder } from '../drivers/local-harness.ts';
import { waitForStatus } from '../helpers/test-service.ts';
import { serviceForFile } from './service-for-file.ts';
import { clusterClient, Writer } from './cluster-writer.ts';
import { adminConnection } from '../drivers/local-harness.ts';

const file = serviceForFile('20100-20399');

const clusterSpec = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  vpcId: 'vpc-test',
  subnetId: 'subnet-test',
  cacheInstanceName: 'cluster_test',
  cacheInstanceClass: 'redis.o.1g.basic',
  shardNumber: 3,
  azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
  redisVersion: '7.0',
  password: 'Clust3rPass',
  ...overrides,
});

async function describeInstance(id: string): Promise<Record<string, unknown>> {
  return (await file.sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as Record<string, unknown>;
}

type Topology = { masters: Map<number, number>; replicas: number; open: number };

/** Masters (port → slot count) as node `port` sees them, replicas and open slots; `settled` retried a few
 * seconds because replica roles reach the other nodes by gossip. */
async function topology(id: string, port: number, settled: (t: Topology) => boolean = () => true): Promise<Topology> {
  const deadline = Date.now() + 6_000;
  for (;;) {
    const t = await topologyOnce(id, port);
    if (settled(t) || Date.now() > deadline) return t;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function topologyOnce(id: string, port: number): Promise<Topology> {
  const admin = await adminConnection(file.svc.dataDir, id, port);
  const entries = parseClusterNodes(String(await admin.call('CLUSTER', 'NODES')));
  admin.disconnect();
  const masters = new Map(entries.filter((e) => e.flags.has('master')).map((e) => [e.port, slotCount(e.slots)]));
  const me = entries.find((e) => e.flags.has('myself'))!;
  return { masters, replicas: entries.filter((e) => e.flags.has('slave')).length, open: me.importing.size + me.migrating.size };
}

describe('native-cluster through the SDK', () => {
  let id = '';
  let port = 0;

  it('offers the redis.o.* classes and creates a verified 3-shard cluster', async () => {
    const classes = (await file.sdk.describeInstanceClass({ redisVersion: '7.0' })).result.instanceClasses as Array<{ instanceClass: string }>;
    expect(classes.map((c) => c.instanceClass)).toContain('redis.o.1g.basic');
    const res = await file.sdk.createCacheInstance({ cacheInstance: clusterSpec() });
    id = res.result.cacheInstanceId as string;
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
    const view = await describeInstance(id);
    expect(view.cacheInstanceType).toBe('native-cluster');
    expect(view.shardNumber).toBe(3);
    expect(view.memoryMBPerShard).toBe(1024);
    port = view.port as number;
    const t = await topology(id, port, (x) => x.replicas === 3);
    expect([...t.masters.values()].sort()).toEqual([5461, 5461, 5462]);
    expect(t.replicas).toBe(3);
  });

  it('takes 10,000 keys through a cluster client starting from connectionDomain:port', async () => {
    const view = await describeInstance(id);
    const c = clusterClient(view.connectionDomain as string, port, 'Clust3rPass');
    file.disconnectAtEnd(c);
    for (let i = 0; i < 10_000; i += 500) await Promise.all(Array.from({ length: 500 }, (_, j) => c.set(`k:${i + j}`, `v${i + j}`)));
    expect(await c.get('k:7777')).toBe('v7777');
    const sizes = await Promise.all(c.nodes('master').map((n) => n.dbsize()));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('resets the password live on every node', async () => {
    await file.sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'NewClust3rPass' });
    expect(await waitForStatus(file.sdk, id, ['running', 'error'])).toBe('running');
    const c = clusterClient('127.0.0.1', port, 'NewClust3rPass');
    file.disconnectAtEnd(c);
    expect(await c.get('k:42')).toBe('v42');
    const old = new Redis({ host: '127.0.0.1', port, password: 'Clust3rPass', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    await expect(old.connect()).rejects.toThrow();
    old.disconnect();
  });

  it('reshards 3 → 6 → 3 while a writer runs, losing no acknowledged write', async () => {
    const c = clusterClient('127.0.0.1', port, 'NewClust3rPass');
    file.disconnectAtEnd(c);
    const writer = new Writer(c, 'w');
    writer.start(8);
    try {
      await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 6 });
      expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
      expect((await describeInstance(id)).shardNumber).toBe(6);
      const six = await topology(id, port, (x) => x.replicas === 6);
      expect(six.masters.size).toBe(6);
      expect([...six.masters.values()].every((n) => n === 2730 || n === 2731)).toBe(true);
      expect(six.replicas).toBe(6);
      expect(six.open).toBe(0);

      await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 });
      expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    } finally {
      await writer.stop();
    }
    const three = await topology(id, port, (x) => x.replicas === 3);
    expect([...three.masters.values()].sort()).toEqual([5461, 5461, 5462]);
    expect(three.replicas).toBe(3);
    expect(writer.acked.size).toBeGreaterThan(1_000);
    expect(writer.errors).toEqual([]);
    expect(await writer.lost()).toEqual([]);
    expect(await c.get('k:9999')).toBe('v9999');
    // The removed shards' nodes are gone: 6 processes, and their ports are free again.
    expect(await processesUnder(`${file.svc.dataDir}/instances/${id}`)).toHaveLength(6);
  });

  it('applies a memory-only class change live, without restarting a node', async () => {
    const before = await processesUnder(`${file.svc.dataDir}/instances/${id}`);
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.2g.basic' });
    expect(await waitForStatus(file.sdk, id, ['running', 'error'])).toBe('running');
    expect((await describeInstance(id)).memoryMBPerShard).toBe(2048);
    expect((await processesUnder(`${file.svc.dataDir}/instances/${id}`)).sort()).toEqual(before.sort());
    const admin = await adminConnection(file.svc.dataDir, id, port);
    expect(await admin.call('CONFIG', 'GET', 'maxmemory')).toEqual(['maxmemory', String(2048 * 1024 * 1024)]);
    admin.disconnect();
  });

  it('delete removes every node', async () => {
    await file.sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(file.sdk, id, ['gone'])).toBe('gone');
    const ports = Array.from({ length: 12 }, (_, i) => port + i);
    expect(await leftovers(file.svc.dataDir, id, ports)).toEqual([]);
  });
});
