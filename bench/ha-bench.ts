/**
 * `npm run bench:ha`: the service on PostgreSQL with 1, 2 and 3 processes vs 1 process on SQLite, in the
 * same run (a throwaway PostgreSQL server, test/helpers/postgres-server.ts):
 * - creates per second: HA_CREATES (default 24) createCacheInstance calls, 8 at a time, spread over
 *   the processes: the API's acceptance rate, and the rate at which they are all verified `running`;
 * - describes per second: 16 clients for HA_DESCRIBE_S (default 4) seconds, spread over the processes;
 * - takeover: SIGKILL of the process that holds a create's task lease, to the instance `running`
 *   through the other process (HA_KILLS times, default 5; lease JCS_LEASE_MS, default 15 s), vs the
 *   SQLite baseline: SIGKILL of the one process and an immediate restart.
 * Real processes and real redis-server nodes; everything is removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type Db } from '../src/store/open-store.ts';
import { percentile } from '../test/chaos/chaos-stats.ts';
import { startPostgres } from '../test/helpers/postgres-server.ts';
import { sdkClient, type SdkRedis } from '../test/helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../test/helpers/service-process.ts';
import { killInstanceProcesses, msSpec, removeInstanceCgroups, TEST_AK, TEST_SK, waitForStatus } from '../test/helpers/test-service.ts';

const CREATES = Number(process.env.HA_CREATES ?? 24);
const DESCRIBE_S = Number(process.env.HA_DESCRIBE_S ?? 4);
const KILLS = Number(process.env.HA_KILLS ?? 5);
const LEASE_MS = process.env.JCS_LEASE_MS ?? '15000';
const ENV = { JCS_QUOTA: '1000', JCS_QUOTA_NODES: '10000', JCS_LEASE_MS: LEASE_MS };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Cluster {
  procs: ServiceProcess[];
  sdks: SdkRedis[];
  dataDir: string;
  close(): Promise<void>;
}

let portBase = 23000;
async function cluster(n: number, databaseUrl?: string): Promise<Cluster> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jcs-ha-bench-'));
  const ports = `${portBase}-${portBase + 499}`;
  portBase += 500;
  const env = databaseUrl ? { ...ENV, JCS_DATABASE_URL: databaseUrl } : ENV;
  const procs: ServiceProcess[] = [];
  for (let i = 0; i < n; i++) {
    const p = new ServiceProcess(dataDir, await freePort(), ports, env);
    await p.start(60_000);
    procs.push(p);
  }
  return {
    procs,
    sdks: procs.map((p) => sdkClient(p.url, TEST_AK, TEST_SK)),
    dataDir,
    async close() {
      for (const p of procs) await p.stop('SIGKILL');
      killInstanceProcesses(dataDir);
      await removeInstanceCgroups(dataDir);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `count` jobs, `width` at a time; job i gets i. */
async function pool(count: number, width: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await job(next++);
  }));
}

async function throughput(label: string, c: Cluster): Promise<Record<string, number | string>> {
  const ids: string[] = [];
  const t0 = performance.now();
  await pool(CREATES, 8, async (i) => {
    const res = await c.sdks[i % c.sdks.length]!.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234', cacheInstanceName: `ha_${i}` }) });
    ids.push(res.result.cacheInstanceId as string);
  });
  const accepted = performance.now() - t0;
  await Promise.all(ids.map((id, i) => waitForStatus(c.sdks[i % c.sdks.length]!, id, ['running'], 120_000)));
  const allRunning = performance.now() - t0;
  let describes = 0;
  const end = performance.now() + DESCRIBE_S * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      const sdk = c.sdks[w % c.sdks.length]!;
      for (let k = w; performance.now() < end; k++) {
        await sdk.describeCacheInstance({ cacheInstanceId: ids[k % ids.length]! });
        describes++;
      }
    }),
  );
  const row = {
    setup: label,
    'creates accepted/s': Math.round((CREATES / accepted) * 1000 * 10) / 10,
    'creates running/s': Math.round((CREATES / allRunning) * 1000 * 10) / 10,
    'describes/s': Math.round(describes / DESCRIBE_S),
    // The machine is shared: the 1-minute load average when the row was measured, to read the rates by.
    load: loadavg()[0]!.toFixed(1),
  };
  console.log(JSON.stringify(row));
  return row;
}

/** SIGKILL of the process holding a create's lease → instance running (through a survivor, or the restarted one). */
async function takeover(c: Cluster, db: Db | null): Promise<number[]> {
  const samples: number[] = [];
  for (let trial = 0; samples.length < KILLS && trial < KILLS * 3; trial++) {
    const id = (await c.sdks[0]!.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234', cacheInstanceName: `kill_${trial}` }) })).result.cacheInstanceId as string;
    let victim = c.procs[0]!;
    if (db) {
      // The process holding the task's lease (its id ends in :<pid>:<random>).
      for (;;) {
        const t = await db.selectFrom('tasks').select(['lease_owner', 'state']).where('instance_id', '=', id).executeTakeFirst();
        if (t?.lease_owner) {
          victim = c.procs.find((p) => p.child?.pid === Number(t.lease_owner.split(':').at(-2)))!;
          break;
        }
        if (t?.state !== 'pending') break;
        await sleep(2);
      }
    }
    const t0 = performance.now();
    await victim.stop('SIGKILL');
    if (!db) await victim.start(60_000);
    const survivor = c.procs.indexOf(c.procs.find((p) => p.child)!);
    if ((await waitForStatus(c.sdks[survivor]!, id, ['running', 'error'], 120_000)) !== 'running') throw new Error(`${id} did not reach running`);
    const ms = performance.now() - t0;
    // A create that was done before the kill measures nothing: only kills that interrupted it count.
    if (ms > 50 || !db) samples.push(ms);
    console.log(`kill ${trial + 1}: ${Math.round(ms)} ms ${db ? '(PostgreSQL, other process)' : '(SQLite, restart)'}, load ${loadavg()[0]!.toFixed(1)}`);
    if (db) await victim.start(60_000);
  }
  return samples;
}

const pg = await startPostgres();
const rows: Record<string, number | string>[] = [];
const failover: Record<string, number[]> = {};
try {
  const sqlite = await cluster(1);
  try {
    rows.push(await throughput('SQLite, 1 process', sqlite));
    failover['SQLite, 1 process (restart)'] = await takeover(sqlite, null);
  } finally {
    await sqlite.close();
  }
  for (const n of [1, 2, 3]) {
    const url = await pg.createDatabase();
    const c = await cluster(n, url);
    try {
      rows.push(await throughput(`PostgreSQL, ${n} process${n > 1 ? 'es' : ''}`, c));
      if (n === 2) {
        const db = await openStore(url);
        try {
          failover[`PostgreSQL, 2 processes (lease ${Number(LEASE_MS) / 1000} s)`] = await takeover(c, db);
        } finally {
          await db.destroy();
        }
      }
    } finally {
      await c.close();
    }
  }
} finally {
  await pg.remove();
}

const base = rows[0]!;
console.log('\n| setup | creates accepted/s | creates running/s | describes/s | describes vs SQLite | load (1 min) |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.setup} | ${r['creates accepted/s']} | ${r['creates running/s']} | ${r['describes/s']} | ${(Number(r['describes/s']) / Number(base['describes/s'])).toFixed(2)} | ${r.load} |`);
}
console.log('\n| SIGKILL → running | median ms | p95 ms | n |');
console.log('|---|---:|---:|---:|');
for (const [k, xs] of Object.entries(failover)) console.log(`| ${k} | ${Math.round(percentile(xs, 0.5))} | ${Math.round(percentile(xs, 0.95))} | ${xs.length} |`);
