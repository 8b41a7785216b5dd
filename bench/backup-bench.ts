/**
 * `npm run bench:backup`: backups and restores of a master-slave instance holding BENCH_BACKUP_MB of data
 * (default 256; 1 GB is the goal where the machine has room), against same-run baselines:
 * - backup (createBackup → backupStatus 2, seen through the SDK) vs `redis-cli --rdb` of the same data
 *   from a bare redis-server (the by-hand way), time and MB/s;
 * - restore in place vs a bare redis-server loading the same RDB (spawn → loaded and answering). Restore
 *   time is restoreInstance until the tenant reads the restored data on the endpoint (a key written after
 *   the backup is gone and the read succeeds); the replica's re-sync after that (until the instance is
 *   verified `running` again) is measured apart;
 * - a writer's latency on the master (one SET at a time) while backups run vs idle: BENCH_BACKUP_PAIRS
 *   (default 6) triples of windows (two idle, one with backups and their writeback), the p99 ratio per
 *   triple and its median, beside the noise floor (idle 2 / idle 1), so a ratio is judged against what
 *   idle alone does.
 * BENCH_BACKUP_ROUNDS (default 3) of backup and restore, interleaved. The service runs as its own process.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { percentile } from '../test/chaos/chaos-stats.ts';
// pairMedian: the midpoint of an even count of pairs (the percentile median below takes the lower one).
import { loadAverage, median as pairMedian } from './bench-kit.ts';
import { sdkClient } from '../test/helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../test/helpers/service-process.ts';
import { killInstanceProcesses, msSpec, removeInstanceCgroups, TEST_AK, TEST_SK, waitForStatus } from '../test/helpers/test-service.ts';
import { backupEnd, bareRedisOn, run, type BackupSdk } from '../test/backups/backup-helpers.ts';

const MB = Number(process.env.BENCH_BACKUP_MB ?? 256);
const ROUNDS = Number(process.env.BENCH_BACKUP_ROUNDS ?? 3);
/** Triples of latency windows (two idle, one with backups running); more pairs, a steadier median. */
const PAIRS = Number(process.env.BENCH_BACKUP_PAIRS ?? 6);
const WINDOW_MS = Number(process.env.BENCH_BACKUP_WINDOW_MS ?? 4_000);
/** BENCH_BACKUP_IONICE=1: the replica in the idle I/O class during the latency windows (an experiment). */
const IONICE = process.env.BENCH_BACKUP_IONICE === '1';
const PASSWORD = 'Passw0rd1';
const median = (xs: number[]): number => percentile(xs, 0.5);
/** The replica's pid, from its pidfile (the node folder is its port, found from the master's INFO). */
async function replicaPidOf(dir: string, instanceId: string, master: Redis): Promise<number | null> {
  const port = /slave0:ip=[^,]+,port=(\d+)/.exec(await master.info('replication'))?.[1];
  return port ? Number(readFileSync(join(dir, 'instances', instanceId, port, 'redis.pid'), 'utf8').trim()) : null;
}
const fmt = (xs: number[]): string => `median ${Math.round(median(xs))} ms (${xs.map((x) => Math.round(x)).join(', ')})`;

const dataDir = mkdtempSync(join(tmpdir(), 'jcs-backup-bench-'));
const work = mkdtempSync(join(tmpdir(), 'jcs-backup-bench-work-'));
// Instance ports 26400-26449 (bench:backup's own range; tests use others).
const svc = new ServiceProcess(dataDir, await freePort(), '26400-26449');
let client: Redis | null = null;
try {
  await svc.start();
  const sdk = sdkClient(svc.url, TEST_AK, TEST_SK) as BackupSdk;
  // A class with room for the data: 4 GB for up to 3 GB, 8 GB beyond.
  const cls = MB <= 3_000 ? 'redis.m.large.basic' : 'redis.m.xlarge.basic';
  const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD, cacheInstanceClass: cls }) })).result.cacheInstanceId as string;
  await waitForStatus(sdk, id, ['running'], 60_000);
  const { port } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
  client = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => 20 });
  client.on('error', () => undefined);

  // Random values: RDB compression must not make the file much smaller than the data.
  const values = Array.from({ length: 997 }, () => randomBytes(768).toString('base64'));
  const keys = Math.floor((MB * 1024 * 1024) / (values[0]!.length + 64));
  const t0 = Date.now();
  for (let i = 0; i < keys; i += 10_000) {
    const p = client.pipeline();
    for (let j = i; j < Math.min(keys, i + 10_000); j++) p.set(`k:${j}`, values[j % values.length]!);
    await p.exec();
  }
  const used = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
  console.log(`loaded ${keys} keys, used_memory ${Math.round(used / 1048576)} MB in ${Date.now() - t0} ms; waiting for the replica`);
  await waitForStatus(sdk, id, ['running'], 120_000);

  const ours: number[] = [];
  const byHand: number[] = [];
  const restores: number[] = [];
  const resyncs: number[] = [];
  const bareLoads: number[] = [];
  let bytes = 0;
  let lastBaseId = '';
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    const baseId = (await sdk.createBackup({ cacheInstanceId: id, fileName: `bench${r}`, backupType: 1 })).result.baseId as string;
    const b = await backupEnd(sdk, id, baseId, 600_000);
    if (b.backupStatus !== 2) throw new Error(`backup failed: ${b.failureReason}`);
    ours.push(performance.now() - started);
    bytes = b.backupSize;
    lastBaseId = baseId;
    const steps = svc.output.split('\n').filter((l) => l.includes('"snapshot taken"')).at(-1);
    const step = steps ? (JSON.parse(steps) as Record<string, number>) : {};
    console.log(`round ${r + 1}: backup ${Math.round(ours.at(-1)!)} ms (${b.snapshotSource}; catch-up ${step.catchUpMs} ms, BGSAVE ${step.bgsaveMs} ms, move ${step.moveMs} ms, check + SHA-256 ${step.checkMs} ms), ${Math.round(bytes / 1048576)} MB; ${loadAverage()}`);

    // By hand: the same data in a bare redis-server, saved with redis-cli --rdb.
    const file = join(dataDir, 'backups', id, baseId, 'shard-0.rdb');
    copyFileSync(file, join(work, 'bare.rdb'));
    const bare = await bareRedisOn(work, 'bare.rdb');
    try {
      const barePort = Number((bare.client.options as { port: number }).port);
      const h0 = performance.now();
      const res = await run('redis-cli', ['-p', String(barePort), '--rdb', join(work, 'by-hand.rdb')]);
      if (res.code !== 0) throw new Error(`redis-cli --rdb failed: ${res.out}`);
      byHand.push(performance.now() - h0);
    } finally {
      await bare.stop();
    }
    console.log(`round ${r + 1}: redis-cli --rdb ${Math.round(byHand.at(-1)!)} ms (${Math.round(statSync(join(work, 'by-hand.rdb')).size / 1048576)} MB)`);

    // Restore in place vs a bare redis-server loading the same file. A key written after the backup: the
    // tenant reads the restored data once it is gone.
    await client.set('bench:after', '1');
    const reader = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 0, retryStrategy: () => 2, enableOfflineQueue: false, enableReadyCheck: false });
    reader.on('error', () => undefined);
    const rs = performance.now();
    await sdk.restoreInstance({ cacheInstanceId: id, baseId });
    for (;;) {
      const gone = await reader.exists('bench:after').then((n) => n === 0, () => false);
      if (gone) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    restores.push(performance.now() - rs);
    reader.disconnect();
    await waitForStatus(sdk, id, ['running'], 600_000);
    resyncs.push(performance.now() - rs - restores.at(-1)!);
    const l0 = performance.now();
    const loaded = await bareRedisOn(work, 'bare.rdb');
    bareLoads.push(performance.now() - l0);
    await loaded.stop();
    console.log(`round ${r + 1}: restore ${Math.round(restores.at(-1)!)} ms (+ replica re-sync ${Math.round(resyncs.at(-1)!)} ms), bare load ${Math.round(bareLoads.at(-1)!)} ms; ${loadAverage()}`);
  }

  // Writer latency on the master, noise-aware: PAIRS triples of windows of the same length, two idle and one
  // with backups running back to back, the backup window moving through the triple (drift hits all three
  // alike). The backup window goes on until a `sync` has written out the dumps' dirty pages, so their
  // writeback is counted there and never in a following idle window. Per triple: p99(backup) / p99(both idle
  // windows), and the noise floor p99(idle 2) / p99(idle 1), what a ratio reads with no backup at all. The
  // medians over the triples are the figures; a backup ratio inside the floor's spread is no measurable cost.
  let idle: number[] = [];
  let during: number[] = [];
  const backupRatios: number[] = [];
  const floorRatios: number[] = [];
  const replicaPid = IONICE ? await replicaPidOf(dataDir, id, client) : null;
  if (replicaPid !== null) {
    // Bench-only experiment (BENCH_BACKUP_IONICE=1): the replica, hence its BGSAVE child, in the idle I/O
    // class, to see whether the dump's writes beside the master's AOF fsyncs are what costs the p99.
    const r = await run('ionice', ['-c3', '-p', String(replicaPid)]);
    console.log(`ionice -c3 on the replica (pid ${replicaPid}): ${r.code === 0 ? 'set' : r.out.trim()}`);
  }
  const writeWhile = async (samples: number[], busy: () => boolean): Promise<void> => {
    for (let n = 0; busy(); n++) {
      const s = performance.now();
      await client!.set(`lat:${n % 1000}`, 'x');
      samples.push(performance.now() - s);
    }
  };
  const orders: Array<Array<'idle' | 'backup'>> = [
    ['idle', 'backup', 'idle'],
    ['backup', 'idle', 'idle'],
    ['idle', 'idle', 'backup'],
  ];
  for (let r = 0; r < PAIRS; r++) {
    const idles: number[][] = [];
    let w: number[] = [];
    for (const kind of orders[r % orders.length]!) {
      const samples: number[] = [];
      const end = Date.now() + WINDOW_MS;
      if (kind === 'idle') {
        await writeWhile(samples, () => Date.now() < end);
        idles.push(samples);
        continue;
      }
      let backups = 0;
      let running = true;
      const background = (async () => {
        while (Date.now() < end) {
          const baseId = (await sdk.createBackup({ cacheInstanceId: id, fileName: `lat${r}_${backups++}`, backupType: 1 })).result.baseId as string;
          await backupEnd(sdk, id, baseId, 600_000);
        }
        await run('sync', []);
      })().finally(() => (running = false));
      await writeWhile(samples, () => running);
      await background;
      w = samples;
    }
    const p99 = (xs: number[]): number => percentile(xs, 0.99);
    const [i1, i2] = [idles[0]!, idles[1]!];
    // concat, not spread: a window holds ~100k samples, more arguments than a call takes.
    idle = idle.concat(i1, i2);
    during = during.concat(w);
    backupRatios.push(p99(w) / p99(i1.concat(i2)));
    floorRatios.push(p99(i2) / p99(i1));
    console.log(`pair ${r + 1}: p99 idle 1 ${p99(i1).toFixed(3)} ms, idle 2 ${p99(i2).toFixed(3)} ms, backup ${p99(w).toFixed(3)} ms (n=${w.length}, through sync): backup/idle ${backupRatios.at(-1)!.toFixed(2)}, noise idle 2/idle 1 ${floorRatios.at(-1)!.toFixed(2)}; ${loadAverage()}`);
  }
  const lat = (xs: number[]): string => `p50 ${percentile(xs, 0.5).toFixed(3)} ms, p99 ${percentile(xs, 0.99).toFixed(3)} ms, max ${xs.reduce((a, b) => Math.max(a, b), 0).toFixed(1)} ms (n=${xs.length})`;

  const mbs = (ms: number): string => ((bytes / 1048576) / (ms / 1000)).toFixed(0);
  console.log('');
  console.log(loadAverage());
  console.log(`data: ${keys} keys, used_memory ${Math.round(used / 1048576)} MB, RDB ${Math.round(bytes / 1048576)} MB; ${ROUNDS} rounds`);
  console.log(`backup (createBackup → status 2): ${fmt(ours)}, ${mbs(median(ours))} MB/s`);
  console.log(`redis-cli --rdb by hand:           ${fmt(byHand)}, ${mbs(median(byHand))} MB/s`);
  console.log(`ratio backup / by hand: ${(median(ours) / median(byHand)).toFixed(2)} (goal <= 1.5)`);
  console.log(`restore in place (→ tenant reads): ${fmt(restores)}`);
  console.log(`then replica re-sync (→ running):  ${fmt(resyncs)}`);
  console.log(`bare redis-server load:            ${fmt(bareLoads)}`);
  console.log(`ratio restore / bare load: ${(median(restores) / median(bareLoads)).toFixed(2)} (goal <= 2)`);
  console.log(`writer on the master, idle:        ${lat(idle)}`);
  console.log(`writer on the master, backups run: ${lat(during)}`);
  // The spread of the floor: how far apart two idle windows' p99 land (a ratio or its inverse).
  const spread = floorRatios.map((x) => Math.max(x, 1 / x));
  const sorted = (xs: number[]): string => [...xs].sort((x, y) => x - y).map((x) => x.toFixed(2)).join(', ');
  console.log(`ratio p99 during / idle, per pair: median ${pairMedian(backupRatios).toFixed(2)} (${sorted(backupRatios)}) (goal <= 1.1)`);
  console.log(`noise floor, p99 idle 2 / idle 1:   median ${pairMedian(floorRatios).toFixed(2)} (${sorted(floorRatios)}), median spread ${pairMedian(spread).toFixed(2)}`);
  const floor = pairMedian(spread);
  const ratio = pairMedian(backupRatios);
  console.log(
    floor >= 1.1
      ? `verdict: none; two idle windows alone differ by ${Math.round((floor - 1) * 100)} % (median), more than the 10 % the goal allows: rerun on a quieter host`
      : ratio <= 1.1
        ? `verdict: goal met (${ratio.toFixed(2)} <= 1.1, idle-vs-idle noise ${floor.toFixed(2)})`
        : `verdict: goal not met (${ratio.toFixed(2)} > 1.1, idle-vs-idle noise ${floor.toFixed(2)})`,
  );
  console.log(`pooled p99 during / idle (all windows): ${(percentile(during, 0.99) / percentile(idle, 0.99)).toFixed(2)}`);
  console.log(`last backup ${lastBaseId}`);
} finally {
  client?.disconnect();
  await svc.stop('SIGKILL');
  killInstanceProcesses(dataDir);
  // The service died with SIGKILL: its nodes' memory cgroups are left for us to remove (as bench:ha does).
  await removeInstanceCgroups(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
