/**
 * `npm run bench:cluster`, in one run on this host:
 * 1. create → running of a 3-shard native-cluster instance through the API (SDK create, then describe
 *    polled every 5 ms), next to six redis-server processes formed by `redis-cli --cluster create
 *    --cluster-replicas 1` and waited on until every node reports cluster_state:ok. Rounds alternate;
 *    medians and the ratio are printed.
 * 2. online reshard 3 → 6 shards of 100,000 keys of 100 bytes while a cluster-aware writer runs: keys
 *    moved per second, the writer's errors, lost acknowledged writes and p99 latency during the move.
 * Instance ports 23000-23999 (BENCH_INSTANCE_PORTS; cluster bus ports +10000): every node takes a client and
 * a TLS port, and a freed port rests before it is given out again, so the rounds need several hundred;
 * the hand-built cluster uses 20990-20995.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startService } from '../src/main.ts';
import { sdkClient, type SdkRedis } from '../test/helpers/sdk-client.ts';
import { median, sleep, waitGone, waitStatus } from './bench-kit.ts';
import { killInstanceProcesses } from '../test/helpers/test-service.ts';
import { clusterClient, Writer } from '../test/cluster/cluster-writer.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RESHARD_ROUNDS = Number(process.env.BENCH_RESHARD_ROUNDS ?? 3);
const RESHARD_KEYS = 100_000;
const CLI_PORTS = [20990, 20991, 20992, 20993, 20994, 20995];
const AK = 'BENCHAK';
const SK = 'BENCHSK';

const createBody = (name: string): Record<string, unknown> => ({
  cacheInstance: {
    vpcId: 'vpc-bench',
    subnetId: 'subnet-bench',
    cacheInstanceName: name,
    cacheInstanceClass: 'redis.o.1g.basic',
    shardNumber: 3,
    azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
    redisVersion: '7.0',
    password: 'B3nchPass',
  },
});

async function ours(sdk: SdkRedis, round: number): Promise<number> {
  const started = performance.now();
  const id = (await sdk.createCacheInstance(createBody(`bench_${round}`))).result.cacheInstanceId as string;
  await waitStatus(sdk, id, 'running');
  const ms = performance.now() - started;
  await sdk.deleteCacheInstance({ cacheInstanceId: id });
  await waitGone(sdk, id);
  return ms;
}

/** Six plain cluster nodes (AOF on, like ours), `redis-cli --cluster create`, then every node ok. */
async function redisCli(root: string): Promise<{ total: number; cli: number }> {
  const dir = mkdtempSync(join(root, 'cli-'));
  const started = performance.now();
  const children = CLI_PORTS.map((port) => {
    const nodeDir = join(dir, String(port));
    mkdirSync(nodeDir);
    writeFileSync(
      join(nodeDir, 'redis.conf'),
      [`port ${port}`, 'bind 127.0.0.1', `dir ${nodeDir}`, 'cluster-enabled yes', 'cluster-config-file nodes.conf', 'appendonly yes', 'save ""', `logfile ${join(nodeDir, 'redis.log')}`].join('\n'),
    );
    const child = spawn('redis-server', [join(nodeDir, 'redis.conf')], { stdio: 'ignore', cwd: nodeDir });
    return child;
  });
  const clients: Redis[] = [];
  try {
    // Same readiness rule as ours: a node counts once it accepts a connection (polled every 5 ms).
    for (const port of CLI_PORTS) {
      for (;;) {
        const c = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        c.on('error', () => undefined);
        const ok = await c.connect().then(
          () => true,
          () => false,
        );
        if (ok) {
          clients.push(c);
          break;
        }
        c.disconnect();
        await sleep(5);
      }
    }
    const cliStarted = performance.now();
    const res = spawnSync('redis-cli', ['--cluster', 'create', ...CLI_PORTS.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'], {
      encoding: 'utf8',
    });
    if (res.status !== 0) throw new Error(`redis-cli --cluster create failed: ${res.stdout}${res.stderr}`);
    const cli = performance.now() - cliStarted;
    for (;;) {
      const infos = await Promise.all(clients.map((c) => c.call('CLUSTER', 'INFO')));
      if (infos.every((i) => String(i).includes('cluster_state:ok'))) break;
      await sleep(5);
    }
    return { total: performance.now() - started, cli };
  } finally {
    for (const c of clients) c.disconnect();
    for (const child of children) child.kill('SIGKILL');
    await sleep(50);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function reshard(sdk: SdkRedis, round: number): Promise<{ keysPerS: number; ms: number; moved: number; errors: number; lost: number; p99: number; writes: number }> {
  const id = (await sdk.createCacheInstance(createBody(`reshard_${round}`))).result.cacheInstanceId as string;
  await waitStatus(sdk, id, 'running');
  const port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;
  const loader = clusterClient('127.0.0.1', port, 'B3nchPass');
  const value = 'v'.repeat(100);
  for (let i = 0; i < RESHARD_KEYS; i += 2_000) {
    await Promise.all(Array.from({ length: 2_000 }, (_, j) => loader.set(`key:${i + j}`, value)));
  }
  const writerClient = clusterClient('127.0.0.1', port, 'B3nchPass');
  const writer = new Writer(writerClient, 'w', 100);
  writer.start(8);
  await sleep(200);
  const before = writer.latenciesMs.length;
  const started = performance.now();
  await sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 6 });
  await waitStatus(sdk, id, 'running');
  const ms = performance.now() - started;
  const during = writer.latenciesMs.slice(before);
  await writer.stop();
  // Keys now on the three new masters are the ones that moved; a fresh client sees all six masters.
  const fresh = clusterClient('127.0.0.1', port, 'B3nchPass');
  await new Promise((resolve) => fresh.once('ready', resolve));
  const sizes = await Promise.all(fresh.nodes('master').map(async (n) => ({ port: n.options.port, keys: await n.dbsize() })));
  fresh.disconnect();
  const moved = sizes.filter((s) => s.port !== undefined && ![port, port + 2, port + 4].includes(s.port)).reduce((a, s) => a + s.keys, 0);
  const lost = (await writer.lost()).length;
  const sorted = [...during].sort((a, b) => a - b);
  const p99 = sorted[Math.floor(sorted.length * 0.99)] ?? 0;
  loader.disconnect();
  writerClient.disconnect();
  await sdk.deleteCacheInstance({ cacheInstanceId: id });
  await waitGone(sdk, id);
  return { keysPerS: (moved / ms) * 1000, ms, moved, errors: writer.errors.length, lost, p99, writes: during.length };
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'jcs-bench-cluster-'));
  const config = loadConfig(
    { JCS_DATA_DIR: join(root, 'service'), JCS_INSTANCE_PORTS: process.env.BENCH_INSTANCE_PORTS ?? '23000-23999', JCS_ACCESS_KEY: AK, JCS_SECRET_KEY: SK },
    { port: 0 },
  );
  const logFile = join(root, 'service.log');
  const service = await startService(config, createLogger('info', pino.destination({ dest: logFile, sync: true })));
  const sdk = sdkClient(service.url, AK, SK);
  try {
    const oursMs: number[] = [];
    const cliTotal: number[] = [];
    const cliOnly: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      oursMs.push(await ours(sdk, round));
      const cli = await redisCli(root);
      cliTotal.push(cli.total);
      cliOnly.push(cli.cli);
      console.log(`round ${round + 1}: ours ${oursMs[round]!.toFixed(0)} ms, redis-cli ${cli.total.toFixed(0)} ms (the command alone ${cli.cli.toFixed(0)} ms)`);
    }
    const m = median(oursMs);
    const c = median(cliTotal);
    console.log(`\ncreate → running, 3 shards × (master + replica), median of ${ROUNDS}:`);
    console.log(`  jcs-redis (API create → verified running)        ${m.toFixed(0)} ms`);
    console.log(`  redis-cli --cluster create (spawn → all nodes ok) ${c.toFixed(0)} ms (command alone ${median(cliOnly).toFixed(0)} ms)`);
    console.log(`  ratio ours / redis-cli                            ${(m / c).toFixed(2)}`);

    const runs = [];
    for (let round = 0; round < RESHARD_ROUNDS; round++) {
      const r = await reshard(sdk, round);
      runs.push(r);
      console.log(
        `reshard round ${round + 1}: ${r.moved} keys moved in ${r.ms.toFixed(0)} ms (${r.keysPerS.toFixed(0)} keys/s), ` +
          `writer: ${r.writes} writes, ${r.errors} errors, ${r.lost} lost, p99 ${r.p99.toFixed(1)} ms`,
      );
    }
    console.log(`\nreshard 3 → 6 of ${RESHARD_KEYS} keys × 100 B under a writer, median of ${RESHARD_ROUNDS}:`);
    console.log(`  modifyClass → verified running  ${median(runs.map((r) => r.ms)).toFixed(0)} ms`);
    console.log(`  throughput                      ${median(runs.map((r) => r.keysPerS)).toFixed(0)} keys/s`);
    console.log(`  writer errors (all rounds)      ${runs.reduce((a, r) => a + r.errors, 0)}`);
    console.log(`  lost acknowledged writes        ${runs.reduce((a, r) => a + r.lost, 0)}`);
    console.log(`  writer p99 during the move      ${median(runs.map((r) => r.p99)).toFixed(1)} ms`);
    const migrated = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"msg":"slots migrated"'))
      .map((l) => JSON.parse(l) as { keys: number; ms: number });
    for (const l of migrated) console.log(`  (driver: ${l.keys} keys in ${l.ms} ms of slot migration = ${((l.keys / l.ms) * 1000).toFixed(0)} keys/s)`);
  } finally {
    await service.close();
    killInstanceProcesses(config.dataDir);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
