/**
 * `npm run bench:provision`: how long a master-slave instance takes from createCacheInstance to a
 * verified `running` (polled through the official SDK), next to starting the same redis-server pair by
 * hand (same settings, waiting for the replica link) in the same run; then redis-benchmark SET/GET with
 * 50 clients against the instance's published endpoint and against a bare redis-server with the same
 * persistence settings. Prints medians, p95 and ratios.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { startService } from '../src/main.ts';
import { sdkClient } from '../test/helpers/sdk-client.ts';

const execFileP = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BENCH_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PORTS = '23000-23199';
const BARE_BASE = 23500;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;

/** Starts a master + replica by hand with the settings the local driver uses; resolves when linked. */
async function barePair(dir: string, port: number): Promise<{ ms: number; stop: () => Promise<void> }> {
  const t0 = performance.now();
  const conf = (p: number, extra: string): string => {
    const d = join(dir, String(p));
    rmSync(d, { recursive: true, force: true });
    const file = join(dir, `${p}.conf`);
    writeFileSync(
      file,
      [
        `port ${p}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `appendonly yes`,
        `appendfsync everysec`,
        `appenddirname aof-${p}`,
        `dbfilename dump-${p}.rdb`,
        'save ""',
        'maxmemory 1gb',
        'maxmemory-policy volatile-lru',
        'maxclients 10000',
        'repl-diskless-sync yes',
        'repl-diskless-sync-delay 0',
        extra,
      ].join('\n'),
    );
    return file;
  };
  const procs = [
    spawn('redis-server', [conf(port, '')], { stdio: 'ignore' }),
    spawn('redis-server', [conf(port + 1, `replicaof 127.0.0.1 ${port}`)], { stdio: 'ignore' }),
  ];
  const replica = new Redis({ port: port + 1, lazyConnect: true, retryStrategy: () => 2, maxRetriesPerRequest: null });
  replica.on('error', () => undefined);
  for (;;) {
    try {
      const info = await replica.info('replication');
      if (info.includes('master_link_status:up')) break;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - t0;
  replica.disconnect();
  return {
    ms,
    stop: async () => {
      for (const p of procs) p.kill('SIGKILL');
      await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)))));
    },
  };
}

async function redisBenchmark(port: number, password?: string): Promise<{ set: number; get: number }> {
  const args = ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-n', '200000', '-t', 'set,get', '--csv', '-q'];
  if (password) args.push('-a', password);
  const { stdout } = await execFileP('redis-benchmark', args, { env: { ...process.env, REDISCLI_AUTH: password ?? '' } });
  const rps = (name: string): number => Number(new RegExp(`"${name}","([\\d.]+)"`).exec(stdout)?.[1] ?? NaN);
  return { set: rps('SET'), get: rps('GET') };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jcs-bench-prov-'));
  const bareDir = mkdtempSync(join(tmpdir(), 'jcs-bench-bare-'));
  const service = await startService(
    loadConfig({ JCS_DATA_DIR: dataDir, JCS_INSTANCE_PORTS: PORTS, JCS_ACCESS_KEY: 'BENCHAK', JCS_SECRET_KEY: 'BENCHSK' }, { port: 0 }),
    pino({ level: 'warn' }),
  );
  const sdk = sdkClient(service.url, 'BENCHAK', 'BENCHSK');
  const ours: number[] = [];
  const bare: number[] = [];
  let keep = '';
  let keepPort = 0;
  try {
    for (let i = 0; i < RUNS; i++) {
      const pair = await barePair(bareDir, BARE_BASE);
      bare.push(pair.ms);
      await pair.stop();

      const t0 = performance.now();
      const res = await sdk.createCacheInstance({
        cacheInstance: {
          vpcId: 'vpc-b',
          subnetId: 'subnet-b',
          cacheInstanceName: `bench_${i}`,
          cacheInstanceClass: 'redis.m.micro.basic',
          password: 'Bench1234',
          azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
          redisVersion: '4.0',
        },
      });
      const id = res.result.cacheInstanceId as string;
      for (;;) {
        const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
        if (ci.cacheInstanceStatus === 'running') {
          keepPort = ci.port as number;
          break;
        }
        if (ci.cacheInstanceStatus === 'error') throw new Error(`instance ${id} failed`);
        await new Promise((r) => setTimeout(r, 2));
      }
      ours.push(performance.now() - t0);
      if (i < RUNS - 1) {
        await sdk.deleteCacheInstance({ cacheInstanceId: id });
        await service.engine.idle();
      } else keep = id;
    }
    console.log(`\nProvisioning, ${RUNS} runs (machine: 2 cores, shared; medians)`);
    console.log(`  jcs-redis create → running (SDK, verified):  median ${median(ours).toFixed(0)} ms, p95 ${p95(ours).toFixed(0)} ms`);
    console.log(`  bare redis-server pair by hand, linked:      median ${median(bare).toFixed(0)} ms, p95 ${p95(bare).toFixed(0)} ms`);
    console.log(`  ratio (median ours / median bare):           ${(median(ours) / median(bare)).toFixed(2)}`);

    const pair = await barePair(bareDir, BARE_BASE);
    const rounds = { ours: [] as { set: number; get: number }[], bare: [] as { set: number; get: number }[] };
    for (let r = 0; r < BENCH_ROUNDS; r++) {
      rounds.ours.push(await redisBenchmark(keepPort, 'Bench1234'));
      rounds.bare.push(await redisBenchmark(BARE_BASE));
    }
    await pair.stop();
    const m = (xs: { set: number; get: number }[], k: 'set' | 'get'): number => median(xs.map((x) => x[k]));
    console.log(`\nredis-benchmark -c 50 -n 200000, ${BENCH_ROUNDS} interleaved rounds each, medians (requests/s)`);
    for (const k of ['set', 'get'] as const) {
      console.log(
        `  ${k.toUpperCase()}: instance ${m(rounds.ours, k).toFixed(0)}, bare ${m(rounds.bare, k).toFixed(0)}, ratio ${(m(rounds.ours, k) / m(rounds.bare, k)).toFixed(2)}`,
      );
    }
    await sdk.deleteCacheInstance({ cacheInstanceId: keep });
    await service.engine.idle();
  } finally {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(bareDir, { recursive: true, force: true });
  }
}

await main();
