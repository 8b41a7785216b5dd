// Online change of a proxy cluster's shard count under a writer, with a kill -9 of the service during the
// copy: 0 acknowledged writes lost, every key on the shard the new ring names and nowhere else. The
// service runs as a separate process; ports 31700-31899 belong to this file.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KetamaRing } from '../../src/drivers/local/ketama-ring.ts';
import { adminConnection, leftovers } from '../drivers/local-harness.ts';
import { waitForStatus } from '../helpers/test-service.ts';
import { serviceProcessForFile } from './service-process-for-file.ts';
import { proxyClient, ProxyWriter } from './proxy-writer.ts';

const PASSWORD = 'Pr0xyPass1';
const KEYS = 30_000;
const file = serviceProcessForFile('jcs-proxy-resize-', '31700-31899');

/** Each shard's master port, in shard order, from describeClusterInfo. */
async function masters(id: string): Promise<number[]> {
  const { result } = await file.sdk.describeClusterInfo({ cacheInstanceId: id });
  const redis = result.info.redis as { id: string; address: string }[];
  return redis.filter((r) => r.id.endsWith('-master')).map((r) => Number(r.address.split(':')[1]));
}

/** Every key is on the shard the ring names: the masters together hold exactly `expected` keys, each at its owner. */
async function checkPlacement(id: string, sample: string[], expected: number): Promise<void> {
  const ports = await masters(id);
  const ring = new KetamaRing(ports.length);
  let total = 0;
  for (const [shard, port] of ports.entries()) {
    const admin = await adminConnection(file.dataDir, id, port);
    total += await admin.dbsize();
    const mine = sample.filter((k) => ring.shardOf(k) === shard);
    if (mine.length > 0) expect(await admin.exists(...mine)).toBe(mine.length);
    admin.disconnect();
  }
  expect(total).toBe(expected);
}

async function checkAcked(port: number, writer: ProxyWriter): Promise<void> {
  const c = proxyClient(port, PASSWORD);
  await c.connect();
  for (let i = 0; i < writer.acked.length; i += 1_000) {
    const keys = writer.acked.slice(i, i + 1_000);
    const values = await c.mget(...keys);
    expect(values.filter((v, j) => v !== keys[j]!.slice(keys[j]!.lastIndexOf(':') + 1))).toEqual([]);
  }
  c.disconnect();
}

describe('proxy cluster: online change of the shard count', () => {
  let id = '';
  let port = 0;
  const loaded = Array.from({ length: KEYS }, (_, i) => `load:${i}`);
  /** Keys the instance holds: the loaded ones and every writer's. */
  let held = KEYS;

  it('creates a 2-shard instance and loads it through the proxy', async () => {
    const res = await file.sdk.createCacheInstance({
      cacheInstance: { vpcId: 'vpc-1', subnetId: 'subnet-1', cacheInstanceName: 'resize', cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 2, azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '4.0', password: PASSWORD },
    });
    id = res.result.cacheInstanceId as string;
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
    port = (await file.sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;
    const c = proxyClient(port, PASSWORD);
    await c.connect();
    for (let i = 0; i < KEYS; i += 1_000) await c.mset(Object.fromEntries(loaded.slice(i, i + 1_000).map((k) => [k, k.slice(5)])));
    c.disconnect();
    await checkPlacement(id, loaded.slice(0, 2_000), KEYS);
  });

  it('grows 2 → 4 shards under a writer, across a kill -9 of the service during the copy', async () => {
    const writer = new ProxyWriter(port, () => PASSWORD, 'grow:');
    writer.start();
    await new Promise((r) => setTimeout(r, 100));
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 4 });
    // The copy has begun once the reshard's record says so; the service dies right there.
    const marker = join(file.dataDir, 'instances', id, 'reshard.json');
    for (let i = 0; ; i++) {
      const m = await readFile(marker, 'utf8').catch(() => null);
      if (m !== null && m.includes('"copy"')) break;
      if (i > 4_000) throw new Error('the reshard never started its copy');
      await new Promise((r) => setTimeout(r, 2));
    }
    await file.svc.stop('SIGKILL');
    await file.svc.start();
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    await new Promise((r) => setTimeout(r, 100));
    await writer.stop();
    expect(writer.acked.length).toBeGreaterThan(100);
    expect(await masters(id)).toHaveLength(4);
    await checkAcked(port, writer);
    held += writer.acked.length;
    await checkPlacement(id, [...loaded.slice(0, 2_000), ...writer.acked.slice(0, 2_000)], held);
    console.log(`grow 2→4: ${writer.acked.length} acknowledged writes, longest gap ${writer.longestGapMs} ms (includes the service restart)`);
  });

  it('shrinks 4 → 2 shards under a writer; the removed shards and proxies are gone', async () => {
    const before = await masters(id);
    const writer = new ProxyWriter(port, () => PASSWORD, 'shrink:');
    writer.start();
    await new Promise((r) => setTimeout(r, 100));
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 2 });
    expect(await waitForStatus(file.sdk, id, ['changing'], 5_000)).toBe('changing');
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    await new Promise((r) => setTimeout(r, 100));
    await writer.stop();
    expect(await masters(id)).toEqual(before.slice(0, 2));
    await checkAcked(port, writer);
    held += writer.acked.length;
    await checkPlacement(id, [...loaded.slice(0, 2_000), ...writer.acked.slice(0, 2_000)], held);
    const { result } = await file.sdk.describeClusterInfo({ cacheInstanceId: id });
    expect(result.info.proxies).toHaveLength(2);
    console.log(`shrink 4→2: ${writer.acked.length} acknowledged writes, longest gap ${writer.longestGapMs} ms`);
    expect(await leftovers(file.dataDir, id, before.slice(2)).then((l) => l.filter((x) => x.startsWith('port')))).toEqual([]);
  });

  it('a change past its copy whose target changed (a resize refused late) turns back to the ring that holds the data', async () => {
    // Forged: a shrink from 4 shards (two of them long gone) in its cleanup, while the spec asks for 4 again.
    // Before, every repair failed with "past its copy" for good.
    const two = await masters(id);
    const marker = join(file.dataDir, 'instances', id, 'reshard.json');
    await writeFile(marker, JSON.stringify({ from: [...two, 1, 2], to: two, phase: 'cleanup' }));
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 4 });
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    const four = await masters(id);
    expect(four.slice(0, 2)).toEqual(two);
    expect(four).toHaveLength(4);
    await checkPlacement(id, loaded.slice(0, 2_000), held);
    // Forged again: a shrink to 2 interrupted in its switch before any proxy ran the new ring, the spec
    // back at 4: the 4-shard ring holds the data, so the marker goes and the proxies start as they were.
    await writeFile(marker, JSON.stringify({ from: four, to: two, phase: 'switching' }));
    const proxyDir = (await readdir(join(file.dataDir, 'instances', id))).find((n) => /^px\d+$/.test(n) && n !== `px${port}`)!;
    process.kill(Number((await readFile(join(file.dataDir, 'instances', id, proxyDir, 'nutcracker.pid'), 'utf8')).trim()), 'SIGKILL');
    for (let i = 0; i < 300 && (await readFile(marker, 'utf8').catch(() => null)) !== null; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await readFile(marker, 'utf8').catch(() => null)).toBeNull();
    expect(await waitForStatus(file.sdk, id, ['running'], 30_000)).toBe('running');
    await checkPlacement(id, loaded.slice(0, 2_000), held);
  });

  it('deletes it', async () => {
    await file.sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(file.sdk, id, ['gone'], 30_000)).toBe('gone');
    expect(await leftovers(file.dataDir, id, [port])).toEqual([]);
  });
});
