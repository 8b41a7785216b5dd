// kill -9 of the service in the middle of a slot migration: the next start finishes the reshard.
// The service runs as a separate process; ports 20400-20599 belong to this file (bus ports +10000).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseClusterNodes, slotCount } from '../../src/drivers/local/cluster-nodes.ts';
import { adminConnection, portOpen } from '../drivers/local-harness.ts';
import { sdkClient, type SdkRedis } from '../helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../helpers/service-process.ts';
import { killInstanceProcesses, removeInstanceCgroups, TEST_AK, TEST_SK, waitForStatus } from '../helpers/test-service.ts';
import { clusterClient } from './cluster-writer.ts';

let dataDir = '';
let svc: ServiceProcess;
let sdk: SdkRedis;
const disconnect: Array<{ disconnect(): void }> = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'jcs-reshard-crash-'));
  svc = new ServiceProcess(dataDir, await freePort(), '20400-20599');
  await svc.start();
  sdk = sdkClient(svc.url, TEST_AK, TEST_SK);
});

afterAll(async () => {
  for (const c of disconnect) c.disconnect();
  await svc?.stop('SIGKILL');
  killInstanceProcesses(dataDir);
  await removeInstanceCgroups(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

/** The cluster's nodes as the node on `port` sees them, and the keys held by all its masters together. */
async function nodesAndKeys(id: string, port: number): Promise<{ entries: ReturnType<typeof parseClusterNodes>; keys: number }> {
  const admin = await adminConnection(dataDir, id, port);
  const entries = parseClusterNodes(String(await admin.call('CLUSTER', 'NODES')));
  admin.disconnect();
  let keys = 0;
  for (const m of entries.filter((e) => e.flags.has('master'))) {
    const a = await adminConnection(dataDir, id, m.port);
    keys += await a.dbsize();
    a.disconnect();
  }
  return { entries, keys };
}

/**
 * Client ports of the instance's nodes by role (`s<N>-master`, `s<N>-replica`), read from the service's
 * store: ports are handed out at random, so shard N's master is wherever the store says.
 */
function rolePorts(id: string): Map<string, number> {
  const db = new SqliteDatabase(join(dataDir, 'jcs-redis.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT role, port FROM ports WHERE instance_id = ?').all(id) as Array<{ role: string; port: number }>;
    return new Map(rows.map((r) => [r.role, r.port]));
  } finally {
    db.close();
  }
}

const masterPorts = (id: string, shards: number[]): number[] => shards.map((s) => rolePorts(id).get(`nc-s${s}-master`)!);
const nodePorts = (id: string, shards: number[]): number[] =>
  shards.flatMap((s) => [rolePorts(id).get(`nc-s${s}-master`)!, rolePorts(id).get(`nc-s${s}-replica`)!]);

/** Open slots (migrating or importing) on every node of `ports`, as each node reports itself. */
async function openSlots(id: string, ports: number[]): Promise<number> {
  let open = 0;
  for (const port of ports) {
    const admin = await adminConnection(dataDir, id, port).catch(() => null);
    if (!admin) continue;
    const me = parseClusterNodes(String(await admin.call('CLUSTER', 'NODES'))).find((e) => e.flags.has('myself'))!;
    open += me.importing.size + me.migrating.size;
    admin.disconnect();
  }
  return open;
}

let id = '';
let port = 0;

it('finishes a 3 → 6 reshard after a kill -9 in the middle of a slot migration', async () => {
  const res = await sdk.createCacheInstance({
    cacheInstance: {
      vpcId: 'vpc-test',
      subnetId: 'subnet-test',
      cacheInstanceName: 'reshard_crash',
      cacheInstanceClass: 'redis.o.1g.basic',
      shardNumber: 3,
      azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
      redisVersion: '7.0',
      password: 'Crash3dPass',
    },
  });
  id = res.result.cacheInstanceId as string;
  expect(await waitForStatus(sdk, id, ['running', 'error'], 30_000)).toBe('running');
  port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;
  const c = clusterClient('127.0.0.1', port, 'Crash3dPass');
  disconnect.push(c);
  const value = 'x'.repeat(100);
  for (let i = 0; i < 60_000; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, j) => c.set(`k:${i + j}`, value)));

  await sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 6 });
  // The three original masters are the sources: kill the service the moment one of them has a slot open.
  const sources = masterPorts(id, [0, 1, 2]);
  const deadline = Date.now() + 30_000;
  let seenOpen = 0;
  while (Date.now() < deadline && seenOpen === 0) seenOpen = await openSlots(id, sources);
  await svc.stop('SIGKILL');
  expect(seenOpen).toBeGreaterThan(0);
  // Nothing finishes the move while the service is down: the slot stays open.
  expect(await openSlots(id, sources)).toBeGreaterThan(0);

  await svc.start();
  expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
  expect(await openSlots(id, nodePorts(id, [0, 1, 2, 3, 4, 5]))).toBe(0);
  // `running` means every node agrees on the slots; a node learns that an old master (now without slots)
  // turned replica by that node's own gossip, within cluster-node-timeout / 2 (docs/cluster.md).
  let { entries, keys } = await nodesAndKeys(id, port);
  const gossipDeadline = Date.now() + 5_000;
  while (entries.filter((e) => e.flags.has('master')).length !== 6 && Date.now() < gossipDeadline) {
    await new Promise((r) => setTimeout(r, 100));
    ({ entries, keys } = await nodesAndKeys(id, port));
  }
  const masters = entries.filter((e) => e.flags.has('master'));
  expect(masters).toHaveLength(6);
  expect(masters.map((m) => slotCount(m.slots)).reduce((a, b) => a + b, 0)).toBe(16384);
  // Every key survived the interrupted move, exactly once.
  expect(keys).toBe(60_000);
  expect(await c.get('k:59999')).toBe(value);
});

it('finishes a 6 → 3 reshard after a kill -9 while the removed shards are being emptied', async () => {
  const removed = nodePorts(id, [3, 4, 5]);
  const kept = masterPorts(id, [0, 1, 2]);
  await sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3 });
  // The three added masters are the sources now.
  const sources = removed.filter((_, i) => i % 2 === 0);
  const deadline = Date.now() + 30_000;
  let seenOpen = 0;
  while (Date.now() < deadline && seenOpen === 0) seenOpen = await openSlots(id, sources);
  await svc.stop('SIGKILL');
  expect(seenOpen).toBeGreaterThan(0);

  await svc.start();
  expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
  expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.shardNumber).toBe(3);
  const { entries, keys } = await nodesAndKeys(id, port);
  expect(entries).toHaveLength(6);
  const masters = entries.filter((e) => e.flags.has('master'));
  expect(masters.map((m) => m.port).sort()).toEqual([...kept].sort());
  // The removed shards were emptied before they stopped: every key is on the remaining masters.
  expect(keys).toBe(60_000);
  expect(await openSlots(id, kept)).toBe(0);
  for (const p of removed) expect(await portOpen(p)).toBe(false);
});
