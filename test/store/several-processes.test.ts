/**
 * Several service processes on one PostgreSQL store and one data directory (the supported shape with
 * the local driver: docs/deploy.md), as real processes with real redis-server nodes: both serve the
 * same instances, health checks are shared (one live observer per instance), and a process SIGKILLed
 * while it runs a create loses its lease: the other one finishes the create. Leases of 3 s here.
 * The last case: two processes on one SQLite data directory, where the second refuses to start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Db } from '../../src/store/open-store.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.ts';
import { sdkClient } from '../helpers/sdk-client.ts';
import { freePort, processAlive, ServiceProcess } from '../helpers/service-process.ts';
import { instancePids, killInstanceProcesses, msSpec, removeInstanceCgroups, TEST_AK, TEST_SK, waitForStatus } from '../helpers/test-service.ts';

const PORTS = '18800-18899';
const LEASE_MS = 3_000;
let pg: PostgresServer;
let db: Db;
let dataDir = '';
let procs: ServiceProcess[] = [];

const pidOf = (processId: string): number => Number(processId.split(':').at(-2));
const alive = processAlive;

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Health leases in force now: instance → owner's pid. */
async function observers(): Promise<Map<string, number>> {
  const rows = await db.selectFrom('health_leases').selectAll().where('until_ms', '>=', Date.now()).execute();
  return new Map(rows.map((r) => [r.instance_id, pidOf(r.owner)]));
}

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.createDatabase();
  db = await openStore(url);
  dataDir = mkdtempSync(join(tmpdir(), 'jcs-ha-'));
  const env = { JCS_DATABASE_URL: url, JCS_LEASE_MS: String(LEASE_MS) };
  procs = [new ServiceProcess(dataDir, await freePort(), PORTS, env), new ServiceProcess(dataDir, await freePort(), PORTS, env)];
  // Both at once, as an operator's unit files would (first-start.test.ts checks what that makes).
  await Promise.all(procs.map((p) => p.start()));
});

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  killInstanceProcesses(dataDir);
  await removeInstanceCgroups(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  await db?.destroy();
  await pg?.remove();
});

describe('several service processes on one PostgreSQL store', () => {
  const ids: string[] = [];

  it('an instance created through one process is served by the other, and health checks are shared one observer each', async () => {
    const [a, b] = procs.map((p) => sdkClient(p.url, TEST_AK, TEST_SK));
    for (const sdk of [a!, b!]) ids.push((await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string);
    for (const id of ids) {
      expect(await waitForStatus(a!, id, ['running', 'error'], 30_000)).toBe('running');
      expect((await b!.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');
    }
    const pids = procs.map((p) => p.child!.pid!);
    // Two instances, two live processes: one each (a process gives up what is beyond its share).
    const shared = await until('each process to observe one instance', async () => {
      const o = await observers();
      return o.size === 2 && new Set(o.values()).size === 2 && [...o.values()].every((pid) => pids.includes(pid)) && o;
    });
    expect([...shared.keys()].sort()).toEqual([...ids].sort());
  });

  it('SIGKILL of the process running a create: the other takes the task after the lease and finishes it, and all health checks', async () => {
    const sdk = sdkClient(procs[0]!.url, TEST_AK, TEST_SK);
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string;
    ids.push(id);
    const holder = await until('the create to be claimed', async () => {
      const t = await db.selectFrom('tasks').select(['lease_owner', 'state']).where('instance_id', '=', id).executeTakeFirst();
      return t?.lease_owner ? pidOf(t.lease_owner) : undefined;
    });
    const victim = procs.find((p) => p.child?.pid === holder)!;
    const survivor = procs.find((p) => p !== victim)!;
    await victim.stop('SIGKILL');
    const survivorSdk = sdkClient(survivor.url, TEST_AK, TEST_SK);
    expect(await waitForStatus(survivorSdk, id, ['running', 'error'], 40_000)).toBe('running');
    const task = await db.selectFrom('tasks').selectAll().where('instance_id', '=', id).executeTakeFirstOrThrow();
    expect(task).toMatchObject({ state: 'done', lease_owner: '' });
    // Nothing duplicated by the resumed create: a master and a replica per instance, all alive.
    expect(instancePids(dataDir).filter(alive).length).toBe(2 * ids.length);
    const survivorPid = survivor.child!.pid!;
    const all = await until('the survivor to observe every instance', async () => {
      const o = await observers();
      return o.size === ids.length && [...o.values()].every((pid) => pid === survivorPid) && o;
    });
    expect(all.size).toBe(3);
  });

  it('PostgreSQL restarted under load: 503 UNAVAILABLE meanwhile (never 500), then it recovers by itself and no task is lost', async () => {
    const live = procs.find((p) => p.child)!;
    const sdk = sdkClient(live.url, TEST_AK, TEST_SK);
    const before = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string;
    ids.push(before);
    const statuses = new Map<string, number>();
    let stop = false;
    // A steady stream of reads and creates through the outage, counted by the answer's status.
    const load = (async () => {
      while (!stop) {
        for (const call of [() => sdk.describeCacheInstance({ cacheInstanceId: before }), () => sdk.describeCacheInstances({})]) {
          let key: string;
          try {
            await call();
            key = '200';
          } catch (err) {
            const e = (err as { error?: { code?: number; status?: string } }).error;
            key = `${e?.code ?? 'no answer'} ${e?.status ?? String(err)}`;
          }
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await pg.stop();
    await until('503 answers while the database is down', async () => (statuses.get('503 UNAVAILABLE') ?? 0) >= 5).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify([...statuses])}`);
    });
    await pg.start();
    const okBefore = statuses.get('200') ?? 0;
    await until('answers again after the restart', async () => (statuses.get('200') ?? 0) >= okBefore + 5, 30_000);
    stop = true;
    await load;
    expect([...statuses.keys()].sort()).toEqual(['200', '503 UNAVAILABLE']);
    expect(await waitForStatus(sdk, before, ['running', 'error'], 40_000)).toBe('running');
    const after = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234' }) })).result.cacheInstanceId as string;
    ids.push(after);
    expect(await waitForStatus(sdk, after, ['running', 'error'], 30_000)).toBe('running');
  });
});

describe('the embedded SQLite store is one process', () => {
  it('a second service process on the same data directory refuses to start, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jcs-lock-'));
    const first = new ServiceProcess(dir, await freePort(), '18900-18909');
    const second = new ServiceProcess(dir, await freePort(), '18910-18919');
    try {
      await first.start();
      await expect(second.start()).rejects.toThrow(/another jcs-redis service process already uses the data directory .*JCS_DATABASE_URL/s);
      // The lock dies with its holder, even by SIGKILL: the next start succeeds.
      await first.stop('SIGKILL');
      await second.start();
    } finally {
      await first.stop('SIGKILL');
      await second.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
