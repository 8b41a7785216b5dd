// Type changes to and from the proxy cluster with data, on real redis-server and nutcracker:
// master-slave → proxy cluster (a kill -9 of the service during the change) → native cluster → proxy
// cluster → master-slave, a writer that follows the published endpoint throughout: every key, expiry and
// acknowledged write survives every change. The service runs as a separate process; ports 30600-30799
// belong to this file (native-cluster bus ports are +10000).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { leftovers, portOpen, processesUnder } from '../drivers/local-harness.ts';
import { waitForStatus } from '../helpers/test-service.ts';
import { serviceProcessForFile } from './service-process-for-file.ts';
import { proxyClient } from './proxy-writer.ts';
import { checkSeeded, seedKeys } from './retype-data.ts';
import { changeUnderWriter, type View } from './change-under-writer.ts';

const KEYS = 3_000;
const file = serviceProcessForFile('jcs-proxy-retype-', '30600-30799');

const view = async (id: string): Promise<View> => (await file.sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as unknown as View;

const create = async (name: string, password?: string): Promise<string> => {
  const res = await file.sdk.createCacheInstance({
    cacheInstance: { vpcId: 'vpc-1', subnetId: 'subnet-1', cacheInstanceName: name, cacheInstanceClass: 'redis.m.micro.basic', azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '4.0', ...(password ? { password } : {}) },
  });
  const id = res.result.cacheInstanceId as string;
  expect(await waitForStatus(file.sdk, id, ['running', 'error'], 30_000)).toBe('running');
  return id;
};

const SHAPE = { keys: KEYS, collections: true, ttlEvery: 300 };
const checkData = (v: View, acked: readonly string[]): Promise<void> => checkSeeded(v.port, v.cacheInstanceType === 'native-cluster', SHAPE, acked);

describe('type change to and from a proxy cluster', () => {
  let id = '';
  let current: View;
  const acked: string[] = [];

  /** Changes the class under the writer; `first` runs just before the change is asked for, `during` right after. */
  async function change(cacheInstanceClass: string, shardNumber: number | undefined, prefix: string, during?: () => Promise<void>, first?: () => void): Promise<View> {
    const before = current;
    const after = await changeUnderWriter(
      { sdk: file.sdk, id, view: () => view(id), before, cacheInstanceClass, shardNumber, prefix, intervalMs: 0, timeoutMs: 60_000, ...(first ? { first } : {}), ...(during ? { during } : {}) },
      acked,
    );
    expect(after.port).not.toBe(before.port);
    expect(await portOpen(before.port)).toBe(false);
    current = after;
    return after;
  }

  it('a master-slave instance with a password becomes a proxy cluster whose proxies take that password; the store holds it only sealed', async () => {
    const other = await create('retype_pw', 'Pr0xyPass1');
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: other, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 2 });
    expect(await waitForStatus(file.sdk, other, ['running', 'error'], 60_000)).toBe('running');
    const v = await view(other);
    expect(v).toMatchObject({ cacheInstanceType: 'cluster', shardNumber: 2 });
    const good = proxyClient(v.port, 'Pr0xyPass1');
    await good.connect();
    expect(await good.set('pw:1', 'x')).toBe('OK');
    good.disconnect();
    const wrong = proxyClient(v.port, 'WrongPass1');
    await expect(wrong.connect().then(() => wrong.get('pw:1'))).rejects.toThrow(/invalid password|NOAUTH|WRONGPASS/i);
    wrong.disconnect();
    // A copy of the database alone gives no password: the kept value is sealed under the data directory's key.
    const db = new Database(join(file.dataDir, 'jcs-redis.db'), { readonly: true, fileMustExist: true });
    const kept = (db.prepare('select proxy_password from instances where id = ?').get(other) as { proxy_password: string }).proxy_password;
    db.close();
    expect(kept).toMatch(/^seal1:/);
    expect(Buffer.from(kept.slice(6), 'base64url').includes(Buffer.from('Pr0xyPass1'))).toBe(false);
    expect(kept).not.toContain('Pr0xyPass1');
    await file.sdk.deleteCacheInstance({ cacheInstanceId: other });
    expect(await waitForStatus(file.sdk, other, ['gone'], 30_000)).toBe('gone');
  });

  it('refuses keys outside database 0 when the change starts, and keeps the instance as it was', async () => {
    id = await create('retype_proxy');
    current = await view(id);
    const seed = new Redis({ host: '127.0.0.1', port: current.port });
    const p = seed.pipeline();
    seedKeys(p, SHAPE);
    await p.exec();
    await seed.select(1);
    await seed.set('only-in-db1', 'x');
    await file.sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 2 });
    expect(await waitForStatus(file.sdk, id, ['running', 'error'], 60_000)).toBe('running');
    expect(await view(id)).toMatchObject({ cacheInstanceType: 'master-slave', port: current.port });
    expect(await seed.get('only-in-db1')).toBe('x');
    await seed.del('only-in-db1');
    seed.disconnect();
    // Nothing of the refused proxy cluster is left: the master-slave pair only.
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(2);
  });

  it('master-slave → proxy cluster, across a kill -9 of the service during the change', async () => {
    let phase = '';
    const after = await change('redis.s.micro.basic', 2, 'ms2px:', async () => {
      const marker = join(file.dataDir, 'instances', id, 'retype.json');
      for (let i = 0; i < 5_000 && phase === ''; i++) {
        phase = (await readFile(marker, 'utf8').catch(() => '')).match(/"phase":"(\w+)"/)?.[1] ?? '';
        if (phase === '') await new Promise((r) => setTimeout(r, 1));
      }
      await file.svc.stop('SIGKILL');
      await file.svc.start();
    });
    console.log(`service killed in the type change's ${phase || 'unseen'} phase`);
    expect(phase).not.toBe('');
    expect(after).toMatchObject({ cacheInstanceType: 'cluster', shardNumber: 2 });
    // 2 shards × (master + replica) + 2 proxies.
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(6);
    await checkData(after, acked);
    const list = (await (file.sdk as unknown as { describeTaskProgressList: (p: unknown) => Promise<{ result: { taskProgresses: Array<{ taskStatus: string; progressPercent: number }> } }> }).describeTaskProgressList({ cacheInstanceId: id })).result.taskProgresses;
    expect(list[0]).toMatchObject({ taskStatus: 'success', progressPercent: 100 });
  });

  it('proxy cluster → native cluster → proxy cluster', async () => {
    // A kill -9 in the cut-over this time. The cut-over stops the old proxies first, and a frozen one
    // (SIGSTOP: its SIGTERM waits, SIGKILL follows after 2 s) holds the change there long enough to see it.
    const dir = join(file.dataDir, 'instances', id);
    const frozen = (await readdir(dir)).filter((n) => /^px\d+$/.test(n) && n !== `px${current.port}`)[0]!;
    const pid = Number((await readFile(join(dir, frozen, 'nutcracker.pid'), 'utf8')).trim());
    let phase = '';
    const native = await change(
      'redis.o.1g.basic',
      3,
      'px2nc:',
      async () => {
        for (let i = 0; i < 20_000 && phase !== 'cutover'; i++) {
          phase = (await readFile(join(dir, 'retype.json'), 'utf8').catch(() => '')).match(/"phase":"(\w+)"/)?.[1] ?? '';
          if (phase !== 'cutover') await new Promise((r) => setTimeout(r, 1));
        }
        await file.svc.stop('SIGKILL');
        await file.svc.start();
      },
      () => process.kill(pid, 'SIGSTOP'),
    );
    expect(phase).toBe('cutover');
    // The frozen proxy was stopped by the resumed cut-over (SIGKILL reaches a stopped process).
    expect(() => process.kill(pid, 0)).toThrow();
    expect(native).toMatchObject({ cacheInstanceType: 'native-cluster', shardNumber: 3 });
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(6);
    await checkData(native, acked);
    const proxy = await change('redis.s.micro.basic', 4, 'nc2px:');
    expect(proxy).toMatchObject({ cacheInstanceType: 'cluster', shardNumber: 4 });
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(12);
    await checkData(proxy, acked);
  });

  it('proxy cluster → master-slave, then delete leaves nothing', async () => {
    const ms = await change('redis.m.micro.basic', undefined, 'px2ms:');
    expect(ms.cacheInstanceType).toBe('master-slave');
    expect(await processesUnder(join(file.dataDir, 'instances', id))).toHaveLength(2);
    await checkData(ms, acked);
    const c = new Redis({ host: '127.0.0.1', port: ms.port });
    // Every key the instance ever held, and no other: the seeded ones and the writer's (a write whose answer
    // was lost in a switch may have landed too, so these are at least the acknowledged ones).
    const size = await c.dbsize();
    expect(size).toBeGreaterThanOrEqual(KEYS + 3 + new Set(acked).size);
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'COUNT', 1_000);
      cursor = next;
      expect(keys.filter((k) => !/^(s:\d+|[hlz]:1|(ms2px|px2nc|nc2px|px2ms):\d+)$/.test(k))).toEqual([]);
    } while (cursor !== '0');
    c.disconnect();
    await file.sdk.deleteCacheInstance({ cacheInstanceId: id });
    expect(await waitForStatus(file.sdk, id, ['gone'], 30_000)).toBe('gone');
    expect(await leftovers(file.dataDir, id, [ms.port])).toEqual([]);
  });
});
