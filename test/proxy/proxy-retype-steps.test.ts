// A type change's copy in bounded steps (JCS_RETYPE_STEP_MS=1: several driver calls for 5,000 keys), on
// real redis-server, nutcracker and redis-cli watchers: a SIGKILL of the service between two steps resumes
// from the recorded SCAN cursors (not from zero), and a SIGKILL of a keyspace watcher between two steps
// starts the copy over; every key, expiry and acknowledged write survives both. The service runs as a
// separate process; ports 26500-26699 belong to this file.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RetypeMarker } from '../../src/drivers/local/cluster-retype.ts';
import { processesUnder } from '../drivers/local-harness.ts';
import { waitForStatus } from '../helpers/test-service.ts';
import { serviceProcessForFile } from './service-process-for-file.ts';
import { proxyClient } from './proxy-writer.ts';
import { checkSeeded, seedKeys } from './retype-data.ts';
import { changeUnderWriter, type View } from './change-under-writer.ts';

const KEYS = 5_000;
const file = serviceProcessForFile('jcs-retype-steps-', '26500-26699', { JCS_RETYPE_STEP_MS: '1' });

const view = async (id: string): Promise<View> => (await file.sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as unknown as View;

/** The service's log lines with this message, parsed. */
const logged = (msg: string): Array<Record<string, unknown>> =>
  file.svc.output
    .split('\n')
    .filter((l) => l.includes(`"msg":"${msg}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const readMarker = async (id: string): Promise<RetypeMarker | null> => {
  const text = await readFile(join(file.dataDir, 'instances', id, 'retype.json'), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as RetypeMarker);
};

/**
 * Holds the service (SIGSTOP) at a moment its copy is between steps, part-way: some keys copied and a
 * scan not through. The step that runs next began from that record (each step reads it first), so it is a
 * copy step too. Returns the record, the service still stopped.
 */
async function holdMidCopy(id: string): Promise<RetypeMarker> {
  const pid = file.svc.child!.pid!;
  for (let i = 0; i < 20_000; i++) {
    const m = await readMarker(id);
    if (m?.copy && m.copy.copied > 0 && m.copy.sources.some((s) => s.cursor !== null && s.cursor !== '0')) {
      process.kill(pid, 'SIGSTOP');
      const held = await readMarker(id);
      if (held?.copy && held.copy.sources.some((s) => s.cursor !== null)) return held;
      process.kill(pid, 'SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error('the copy was never seen part-way');
}

const SHAPE = { keys: KEYS, collections: false, ttlEvery: 3 * 97 };
const checkData = (port: number, acked: readonly string[], native = false): Promise<void> => checkSeeded(port, native, SHAPE, acked);

describe('type change copy in steps', () => {
  let id = '';
  const acked: string[] = [];

  /** Changes the class under a writer following the endpoint; `during` runs right after the change is asked for. */
  async function change(cacheInstanceClass: string, shardNumber: number | undefined, prefix: string, during: () => Promise<void>): Promise<View> {
    // A write every ~2 ms: the keyspace grows while the copy runs, yet 1 ms steps still get through it.
    return changeUnderWriter({ sdk: file.sdk, id, view: () => view(id), before: await view(id), cacheInstanceClass, shardNumber, prefix, intervalMs: 2, timeoutMs: 90_000, during }, acked);
  }

  /** A new master-slave instance with the seeded keys; it becomes `id`. */
  async function seeded(name: string): Promise<void> {
    const res = await file.sdk.createCacheInstance({
      cacheInstance: { vpcId: 'vpc-1', subnetId: 'subnet-1', cacheInstanceName: name, cacheInstanceClass: 'redis.m.micro.basic', azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '4.0' },
    });
    id = res.result.cacheInstanceId as string;
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
    const seed = new Redis({ host: '127.0.0.1', port: (await view(id)).port });
    const p = seed.pipeline();
    seedKeys(p, SHAPE);
    await p.exec();
    seed.disconnect();
  }

  it('master-slave → proxy cluster in several steps, across a SIGKILL of the service between two of them: it goes on from the cursors', async () => {
    await seeded('steps');

    let held: RetypeMarker | null = null;
    let restarted = 0;
    const after = await change('redis.s.micro.basic', 2, 'steps1:', async () => {
      held = await holdMidCopy(id);
      await file.svc.stop('SIGKILL');
      await file.svc.start();
      restarted = file.svc.child!.pid!;
    });
    expect(after).toMatchObject({ cacheInstanceType: 'cluster', shardNumber: 2 });
    const copied = held!.copy!.copied;
    console.log(`service killed with ${copied} keys copied, cursors ${JSON.stringify(held!.copy!.sources.map((s) => s.cursor))}`);
    // Steps before and after the kill; the first after it went on from the recorded count and cursors, not from 0.
    // (pino names the process in each line; a line of the killed one may have died in its buffer).
    const steps = logged('type change: copy step');
    const resumed = steps.filter((l) => l.pid === restarted);
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    expect(resumed[0]).toMatchObject({ instanceId: id, from: copied });
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(logged('type change: the copy starts over')).toEqual([]);
    expect(await readMarker(id)).toBeNull();
    // 2 × (master + replica) + 2 proxies, and no watcher left.
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(6);
    await checkData(after.port, acked);
  });

  it('proxy cluster → master-slave: a keyspace watcher killed between two steps starts the copy over, nothing lost', async () => {
    const before = logged('type change: copy step').length;
    const after = await change('redis.m.micro.basic', undefined, 'steps2:', async () => {
      const held = await holdMidCopy(id);
      // Writes the dead watcher cannot record: they must still arrive (the copy starts over).
      process.kill(held.copy!.sources[0]!.watcher, 'SIGKILL');
      process.kill(file.svc.child!.pid!, 'SIGCONT');
    });
    expect(after.cacheInstanceType).toBe('master-slave');
    const over = logged('type change: the copy starts over');
    expect(over).toHaveLength(1);
    expect(String(over[0]!.reason)).toMatch(/keyspace watcher of old node \d+ stopped/);
    expect(logged('type change: copy step').length - before).toBeGreaterThanOrEqual(3);
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(2);
    await checkData(after.port, acked);
    await file.sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(file.sdk, id, ['gone'], 30_000)).toBe('gone');
  });

  it('master-slave → proxy cluster: a FLUSHALL by the tenant during the copy starts the copy over, and no flushed key comes back', async () => {
    await seeded('steps_flush');
    const { port } = await view(id);
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 2 });
    // Part-way: keys already copied to the new shards; then the tenant empties the database and writes anew.
    const held = await holdMidCopy(id);
    expect(held.copy!.copied).toBeGreaterThan(0);
    const tenant = new Redis({ host: '127.0.0.1', port });
    await tenant.flushall();
    for (let i = 0; i < 100; i++) await tenant.set(`after:${i}`, `a${i}`);
    tenant.disconnect();
    process.kill(file.svc.child!.pid!, 'SIGCONT');
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 90_000)).toBe('running');
    const after = await view(id);
    expect(after).toMatchObject({ cacheInstanceType: 'cluster', shardNumber: 2 });
    const c = proxyClient(after.port, undefined);
    await c.connect();
    try {
      // Not one seeded key is back (before, the keys copied before the flush reappeared), every new one is there.
      for (let i = 0; i < KEYS; i += 500) expect((await c.mget(...Array.from({ length: 500 }, (_, j) => `s:${i + j}`))).filter((v) => v !== null)).toEqual([]);
      expect(await c.hgetall('h:1')).toEqual({});
      const news = Array.from({ length: 100 }, (_, i) => `after:${i}`);
      expect(await c.mget(...news)).toEqual(news.map((_, i) => `a${i}`));
    } finally {
      c.disconnect();
    }
    const over = logged('type change: the copy starts over').filter((l) => l.instanceId === id);
    expect(over).toHaveLength(1);
    expect(String(over[0]!.reason)).toMatch(/ran FLUSHALL, FLUSHDB or SWAPDB during the copy/);
    await file.sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(file.sdk, id, ['gone'], 30_000)).toBe('gone');
  });

  it('master-slave → native cluster in several steps (writes through cluster routing), nothing lost', async () => {
    await seeded('steps_nc');
    acked.length = 0;
    const before = logged('type change: copy step').length;
    // The writer's SETs fail with MOVED once the endpoint is the cluster's: only those before count.
    const t0 = Date.now();
    const after = await change('redis.o.1g.basic', 3, 'steps3:', async () => undefined);
    console.log(`master-slave → native cluster in ${Date.now() - t0} ms`);
    expect(after).toMatchObject({ cacheInstanceType: 'native-cluster', shardNumber: 3 });
    expect(logged('type change: copy step').length - before).toBeGreaterThanOrEqual(3);
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(6);
    const t1 = Date.now();
    await checkData(after.port, acked, true);
    console.log(`checked in ${Date.now() - t1} ms`);
    await file.sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(file.sdk, id, ['gone'], 30_000)).toBe('gone');
  }, 180_000);
});
