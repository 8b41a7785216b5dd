/**
 * `npm run bench:proxy`, in one run on this host (proxy-cluster instances, twemproxy):
 * 1. redis-benchmark (SET and GET, 50 clients, random keys over 100,000, non-pipelined and `-P 16`) on a
 *    4-shard product instance's endpoint, on one bare redis-server, on a twemproxy started by hand in front
 *    of 4 bare redis-servers (the baseline: the same proxy conf, md5, ketama, redis_auth, unix
 *    sockets; AOF on everywhere, like ours), and on the same by hand with the product's shape: a replica
 *    per shard, linked over TLS with a certificate from a CA as the product's nodes are, and linked in
 *    plain text (what the replica costs, and what its TLS adds). Targets alternate
 *    in each round; medians of requests/s, the ratios product / each hand-built baseline and the load
 *    average before and after are printed.
 * 2. online change 4 → 8 shards with 1,000,000 keys under a writer (one SET at a time): keys moved per
 *    second, the longest write pause, the writer's p99 latency, lost acknowledged writes.
 * 3. type change master-slave → 4-shard proxy cluster with the same keys and writer (BENCH_PARTS=retype).
 * 4. create → running of an 8-shard proxy cluster through the API, next to the same processes started by
 *    hand (16 redis-servers, 8 replicas linked, 8 twemproxies answering through every shard).
 * Instance ports 32000-32399 (BENCH_INSTANCE_PORTS); hand-built ports from 32400.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startService } from '../src/main.ts';
import { KetamaRing } from '../src/drivers/local/ketama-ring.ts';
import { sdkClient, type SdkRedis } from '../test/helpers/sdk-client.ts';
import { loadavg } from 'node:os';
import { ensureCa, ensureInstanceCert } from '../src/drivers/local/tls-material.ts';
import { median, onceMoreOnReset, sleep, waitGone, waitStatus } from './bench-kit.ts';
import { killInstanceProcesses } from '../test/helpers/test-service.ts';
import { proxyClient } from '../test/proxy/proxy-writer.ts';
import { loadKeys, startAckedWriter } from './acked-writer.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200_000);
const RESIZE_KEYS = Number(process.env.BENCH_RESIZE_KEYS ?? 1_000_000);
const PASSWORD = 'B3nchPass';
const AK = 'BENCHAK';
const SK = 'BENCHSK';
const HAND_BASE = 32400;


async function createProxyCluster(sdk: SdkRedis, name: string, shards: number): Promise<{ id: string; port: number }> {
  const id = (
    await onceMoreOnReset(() => sdk.createCacheInstance({
      cacheInstance: { vpcId: 'vpc-bench', subnetId: 'subnet-bench', cacheInstanceName: name, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: shards, azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '4.0', password: PASSWORD },
    }))
  ).result.cacheInstanceId as string;
  await waitStatus(sdk, id, 'running', 300_000);
  return { id, port: (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number };
}

async function deleteInstance(sdk: SdkRedis, id: string): Promise<void> {
  await onceMoreOnReset(() => sdk.deleteCacheInstance({ cacheInstanceId: id }));
  await waitGone(sdk, id);
}

/** Processes started by hand, killed at the end. */
const handProcesses: ChildProcess[] = [];

/**
 * `detached`: in a session of its own, as the product starts its nodes and proxies. With the kernel's
 * autogroup scheduling (`/proc/sys/kernel/sched_autogroup_enabled`) each session is a scheduling group of
 * its own, which changes how a loaded host shares the CPU between the benchmark and the servers.
 */
function startRedis(dir: string, port: number, extra: string[] = [], detached = false): void {
  mkdirSync(dir, { recursive: true });
  const conf = [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `unixsocket ${join(dir, 'redis.sock')}`, 'unixsocketperm 700', 'appendonly yes', 'appendfsync everysec', 'save ""', `requirepass ${PASSWORD}`, `masterauth ${PASSWORD}`, `logfile ${join(dir, 'redis.log')}`, ...extra];
  writeFileSync(join(dir, 'redis.conf'), conf.join('\n'));
  handProcesses.push(spawn('redis-server', [join(dir, 'redis.conf')], { stdio: 'ignore', cwd: dir, detached }));
}

function startTwemproxy(dir: string, port: number, statsPort: number, sockets: string[], detached = false): void {
  mkdirSync(dir, { recursive: true });
  const servers = sockets.map((s, i) => `   - ${s}:1 s${i}`);
  writeFileSync(
    join(dir, 'nutcracker.yml'),
    ['tenant:', `  listen: 127.0.0.1:${port}`, '  hash: md5', '  hash_tag: "{}"', '  distribution: ketama', '  redis: true', `  redis_auth: ${PASSWORD}`, '  auto_eject_hosts: false', '  preconnect: true', '  server_connections: 1', '  servers:', ...servers, ''].join('\n'),
  );
  handProcesses.push(spawn('nutcracker', ['-c', join(dir, 'nutcracker.yml'), '-o', join(dir, 'nutcracker.log'), '-v', '4', '-s', String(statsPort), '-a', '127.0.0.1'], { stdio: 'ignore', cwd: dir, detached }));
}

async function answers(port: number, check: (c: Redis) => Promise<boolean>, proxied = false): Promise<void> {
  for (;;) {
    const c = proxied ? proxyClient(port, PASSWORD) : new Redis({ port, password: PASSWORD, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    const ok = await c.connect().then(() => check(c)).catch(() => false);
    c.disconnect();
    if (ok) return;
    await sleep(5);
  }
}

function killHand(): void {
  for (const p of handProcesses.splice(0)) p.kill('SIGKILL');
}

/** requests/s of SET and GET from redis-benchmark's CSV output. */
function benchmark(port: number, pipeline: number): { set: number; get: number } {
  const res = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-a', PASSWORD, '-c', '50', '-n', String(REQUESTS), '-r', '100000', '-P', String(pipeline), '-t', 'set,get', '--csv', '-q'], { encoding: 'utf8' });
  const rps = (name: string): number => {
    const line = res.stdout.split('\n').find((l) => l.startsWith(`"${name}"`));
    if (!line) throw new Error(`redis-benchmark gave no ${name} figure: ${res.stdout}${res.stderr}`);
    return Number(line.split(',')[1]!.replace(/"/g, ''));
  };
  return { set: rps('SET'), get: rps('GET') };
}

/**
 * The product's shard shape by hand: `shards` masters, each with a replica that replicates over TLS
 * (client certificates both ways, as the product's nodes); returns the masters' ports once every link is up.
 */
async function startTlsPairs(hand: string, shards: number): Promise<number[]> {
  const tlsRoot = join(hand, 'tls');
  await ensureCa(tlsRoot);
  const tls = await ensureInstanceCert(tlsRoot, join(hand, 'pairs'), 'bench-pairs');
  const tlsLines = (tlsPort: number): string[] => [`tls-port ${tlsPort}`, `tls-cert-file ${tls.certFile}`, `tls-key-file ${tls.keyFile}`, `tls-ca-cert-file ${tls.caFile}`, 'tls-auth-clients yes', 'tls-replication yes', 'repl-diskless-sync yes', 'repl-diskless-sync-delay 0'];
  const masters = Array.from({ length: shards }, (_, i) => HAND_BASE + 21 + i);
  for (const m of masters) {
    startRedis(join(hand, String(m)), m, tlsLines(m + 20), true);
    startRedis(join(hand, String(m + 10)), m + 10, [...tlsLines(m + 30), `replicaof 127.0.0.1 ${m + 20}`], true);
    await answers(m + 10, async (c) => /master_link_status:up/.test(await c.info('replication')));
  }
  return masters;
}

/**
 * The same pairs with plain replication (no TLS): against the TLS pairs it tells what the encrypted
 * replication stream costs, against the replica-less shards what the replica itself costs.
 */
async function startPlainPairs(hand: string, shards: number): Promise<number[]> {
  const masters = Array.from({ length: shards }, (_, i) => HAND_BASE + 61 + i);
  for (const m of masters) {
    startRedis(join(hand, String(m)), m, ['repl-diskless-sync yes', 'repl-diskless-sync-delay 0'], true);
    startRedis(join(hand, String(m + 10)), m + 10, [`replicaof 127.0.0.1 ${m}`], true);
    await answers(m + 10, async (c) => /master_link_status:up/.test(await c.info('replication')));
  }
  return masters;
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function throughput(sdk: SdkRedis, root: string): Promise<void> {
  const product = await createProxyCluster(sdk, 'bench_rps', 4);
  const hand = join(root, 'hand');
  const bare = HAND_BASE;
  startRedis(join(hand, 'bare'), bare);
  const shards = [1, 2, 3, 4].map((i) => HAND_BASE + i);
  for (const p of shards) startRedis(join(hand, String(p)), p);
  const twem = HAND_BASE + 10;
  startTwemproxy(join(hand, 'twemproxy'), twem, HAND_BASE + 11, shards.map((p) => join(hand, String(p), 'redis.sock')));
  await answers(bare, async (c) => (await c.ping()) === 'PONG');
  for (const p of shards) await answers(p, async (c) => (await c.ping()) === 'PONG');
  await answers(twem, async (c) => (await c.set('probe', '1')) === 'OK', true);
  // The same again with every process in a session of its own, as the product's.
  const detachedShards = [5, 6, 7, 8].map((i) => HAND_BASE + i);
  for (const p of detachedShards) startRedis(join(hand, String(p)), p, [], true);
  const twemDetached = HAND_BASE + 14;
  startTwemproxy(join(hand, 'twemproxy-detached'), twemDetached, HAND_BASE + 15, detachedShards.map((p) => join(hand, String(p), 'redis.sock')), true);
  const pairs = await startTlsPairs(hand, 4);
  const twemPairs = HAND_BASE + 12;
  startTwemproxy(join(hand, 'twemproxy-pairs'), twemPairs, HAND_BASE + 13, pairs.map((p) => join(hand, String(p), 'redis.sock')), true);
  const plainPairs = await startPlainPairs(hand, 4);
  const twemPlain = HAND_BASE + 16;
  startTwemproxy(join(hand, 'twemproxy-plain-pairs'), twemPlain, HAND_BASE + 17, plainPairs.map((p) => join(hand, String(p), 'redis.sock')), true);
  for (const p of detachedShards) await answers(p, async (c) => (await c.ping()) === 'PONG');
  await answers(twemDetached, async (c) => (await c.set('probe', '1')) === 'OK', true);
  await answers(twemPairs, async (c) => (await c.set('probe', '1')) === 'OK', true);
  await answers(twemPlain, async (c) => (await c.set('probe', '1')) === 'OK', true);
  const targets = [
    ['product 4-shard instance', product.port],
    ['twemproxy by hand over 4 redis-servers', twem],
    ['the same, each process in its own session', twemDetached],
    ['by hand, 4 shards + TLS replicas, sessions', twemPairs],
    ['by hand, 4 shards + plain replicas, sessions', twemPlain],
    ['one bare redis-server', bare],
  ] as const;
  console.log(`\nload average before: ${load()} (2 cores; figures under load are comparable only as same-run ratios)`);
  try {
    for (const pipeline of [1, 16]) {
      const figures = new Map<string, { set: number[]; get: number[] }>(targets.map(([name]) => [name, { set: [], get: [] }]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, port] of targets) {
          const r = benchmark(port, pipeline);
          figures.get(name)!.set.push(r.set);
          figures.get(name)!.get.push(r.get);
        }
      }
      console.log(`\nredis-benchmark -c 50 -n ${REQUESTS} -r 100000 -P ${pipeline}, requests/s, median of ${ROUNDS}:`);
      for (const [name] of targets) {
        const f = figures.get(name)!;
        console.log(`  ${name.padEnd(44)} SET ${median(f.set).toFixed(0).padStart(8)}   GET ${median(f.get).toFixed(0).padStart(8)}`);
      }
      const p = figures.get(targets[0][0])!;
      for (const [label, base] of [['hand-built twemproxy', targets[1][0]], ['hand-built, own sessions', targets[2][0]], ['hand-built with TLS replicas', targets[3][0]], ['hand-built, plain replicas', targets[4][0]]] as const) {
        const h = figures.get(base)!;
        console.log(`  ratio product / ${label.padEnd(28)} SET ${(median(p.set) / median(h.set)).toFixed(2)}       GET ${(median(p.get) / median(h.get)).toFixed(2)}`);
      }
      console.log(`  load average after: ${load()}`);
    }
  } finally {
    killHand();
    await deleteInstance(sdk, product.id);
  }
}

async function resize(sdk: SdkRedis, logFile: string): Promise<void> {
  const { id, port } = await createProxyCluster(sdk, 'bench_resize', 4);
  const value = 'v'.repeat(16);
  await loadKeys(port, PASSWORD, RESIZE_KEYS, value);
  const w = startAckedWriter(() => port, PASSWORD);
  const { acked, latencies } = w;
  await sleep(500);
  const before = latencies.length;
  const started = performance.now();
  await onceMoreOnReset(() => sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 8 }));
  await waitStatus(sdk, id, 'running', 300_000);
  const ms = performance.now() - started;
  const during = latencies.slice(before).sort((a, b) => a - b);
  await sleep(200);
  await w.stop();
  const check = proxyClient(port, PASSWORD);
  await check.connect();
  let lost = 0;
  for (let i = 0; i < acked.length; i += 1_000) lost += (await check.mget(...acked.slice(i, i + 1_000))).filter((v) => v === null).length;
  check.disconnect();
  const ring = new KetamaRing(8);
  let moved = 0;
  for (let i = 0; i < RESIZE_KEYS; i++) if (ring.shardOf(`key:${i}`) >= 4) moved++;
  const line = (await import('node:fs')).readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes('"msg":"proxy cluster resharded"'));
  const driver = line ? (JSON.parse(line) as { keys: number; pauseMs: number; ms: number; steps: Record<string, number> }) : null;
  console.log(`\nchange 4 → 8 shards with ${RESIZE_KEYS} keys × 16 B under a writer (one SET at a time):`);
  console.log(`  modifyClass → verified running      ${ms.toFixed(0)} ms`);
  console.log(`  keys moved                          ${moved} (${((moved / ms) * 1000).toFixed(0)} keys/s over the whole change)`);
  if (driver) console.log(`  driver: copy + switch               ${driver.keys} keys in ${driver.ms} ms; writes paused ${driver.pauseMs} ms; steps ${JSON.stringify(driver.steps)}`);
  console.log(`  writer: longest gap between acks    ${w.longestGap().toFixed(0)} ms`);
  console.log(`  writer: p99 / p50 during the change ${(during[Math.floor(during.length * 0.99)] ?? 0).toFixed(1)} / ${(during[Math.floor(during.length * 0.5)] ?? 0).toFixed(2)} ms over ${during.length} writes`);
  console.log(`  writer errors (reconnects)          ${w.errors()}`);
  console.log(`  lost acknowledged writes            ${lost} of ${acked.length}`);
  await deleteInstance(sdk, id);
}

/**
 * Type change master-slave → 4-shard proxy cluster with RESIZE_KEYS keys under a writer (one SET at a time,
 * following the endpoint, which moves): keys/s, the longest write pause, lost acknowledged writes.
 */
async function retype(sdk: SdkRedis, logFile: string): Promise<void> {
  const id = (
    await onceMoreOnReset(() => sdk.createCacheInstance({
      cacheInstance: { vpcId: 'vpc-bench', subnetId: 'subnet-bench', cacheInstanceName: 'bench_retype', cacheInstanceClass: 'redis.m.micro.basic', azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '4.0', password: PASSWORD },
    }))
  ).result.cacheInstanceId as string;
  await waitStatus(sdk, id, 'running', 300_000);
  const portOf = async (): Promise<number> => (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;
  let port = await portOf();
  const value = 'v'.repeat(16);
  await loadKeys(port, PASSWORD, RESIZE_KEYS, value);
  const w = startAckedWriter(() => port, PASSWORD);
  const { acked, latencies } = w;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      port = await portOf().catch(() => port);
      await sleep(50);
    }
  })();
  await sleep(500);
  const before = latencies.length;
  const started = performance.now();
  const load = loadavg()[0]!;
  await onceMoreOnReset(() => sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.s.micro.basic', shardNumber: 4 }));
  await waitStatus(sdk, id, 'running', 900_000);
  const ms = performance.now() - started;
  port = await portOf();
  const during = latencies.slice(before).sort((a, b) => a - b);
  await sleep(500);
  await w.stop();
  polling = false;
  await poll;
  const check = proxyClient(await portOf(), PASSWORD);
  await check.connect();
  let lost = 0;
  for (let i = 0; i < acked.length; i += 1_000) lost += (await check.mget(...acked.slice(i, i + 1_000))).filter((v) => v === null).length;
  let missing = 0;
  for (let i = 0; i < RESIZE_KEYS; i += 1_000) missing += (await check.mget(...Array.from({ length: Math.min(1_000, RESIZE_KEYS - i) }, (_, k) => `key:${i + k}`))).filter((v) => v !== value).length;
  check.disconnect();
  const lines = (await import('node:fs')).readFileSync(logFile, 'utf8').split('\n');
  const steps = lines.filter((l) => l.includes('"msg":"type change: copy step"') && l.includes(id)).length;
  const line = lines.find((l) => l.includes('"msg":"type change: keys copied, old nodes stopped"') && l.includes(id));
  const driver = line ? (JSON.parse(line) as { keys: number; rewritten: number; pauseMs: number; ms: number }) : null;
  console.log(`\ntype change master-slave → proxy cluster (4 shards) with ${RESIZE_KEYS} keys × 16 B under a writer (one SET at a time; load average ${load.toFixed(1)} at the start):`);
  console.log(`  modifyClass → verified running      ${ms.toFixed(0)} ms (${((RESIZE_KEYS / ms) * 1000).toFixed(0)} keys/s over the whole change)`);
  if (driver) console.log(`  driver: copy                        ${driver.keys} keys in ${driver.ms} ms over ${steps + 1} calls; ${driver.rewritten} copied again in the cut-over; writes paused ${driver.pauseMs} ms`);
  console.log(`  writer: longest gap between acks    ${w.longestGap().toFixed(0)} ms`);
  console.log(`  writer: p99 / p50 during the change ${(during[Math.floor(during.length * 0.99)] ?? 0).toFixed(1)} / ${(during[Math.floor(during.length * 0.5)] ?? 0).toFixed(2)} ms over ${during.length} writes`);
  console.log(`  writer errors (reconnects)          ${w.errors()}`);
  console.log(`  lost acknowledged writes            ${lost} of ${acked.length}; loaded keys missing or wrong ${missing}`);
  await deleteInstance(sdk, id);
}

async function createRounds(sdk: SdkRedis, root: string): Promise<void> {
  const ours: number[] = [];
  const byHand: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let t = performance.now();
    const { id } = await createProxyCluster(sdk, `bench_create_${round}`, 8);
    ours.push(performance.now() - t);
    await deleteInstance(sdk, id);

    const dir = join(root, `create-${round}`);
    t = performance.now();
    const masters = Array.from({ length: 8 }, (_, i) => HAND_BASE + 20 + i);
    const replicas = masters.map((p) => p + 10);
    for (const p of masters) startRedis(join(dir, String(p)), p);
    for (const [i, p] of replicas.entries()) startRedis(join(dir, String(p)), p, [`replicaof 127.0.0.1 ${masters[i]}`]);
    const proxies = masters.map((_, i) => HAND_BASE + 40 + i);
    for (const p of proxies) startTwemproxy(join(dir, `px${p}`), p, p + 10, masters.map((m) => join(dir, String(m), 'redis.sock')));
    for (const p of replicas) await answers(p, async (c) => /master_link_status:up/.test(await c.info('replication')));
    const keys = new KetamaRing(8).probeKeys();
    for (const p of proxies) await answers(p, async (c) => (await c.exists(...keys)) >= 0, true);
    byHand.push(performance.now() - t);
    killHand();
    await sleep(100);
    rmSync(dir, { recursive: true, force: true });
    console.log(`create round ${round + 1}: ours ${ours[round]!.toFixed(0)} ms, by hand ${byHand[round]!.toFixed(0)} ms`);
  }
  console.log(`\ncreate → running, 8 shards × (master + replica) + 8 twemproxies, median of ${ROUNDS}:`);
  console.log(`  jcs-redis (API create → verified running)   ${median(ours).toFixed(0)} ms`);
  console.log(`  by hand (spawn → replicas linked, proxies up) ${median(byHand).toFixed(0)} ms`);
  console.log(`  ratio ours / by hand                        ${(median(ours) / median(byHand)).toFixed(2)}`);
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'jcs-bench-proxy-'));
  const config = loadConfig({ JCS_DATA_DIR: join(root, 'service'), JCS_INSTANCE_PORTS: process.env.BENCH_INSTANCE_PORTS ?? '32000-32399', JCS_ACCESS_KEY: AK, JCS_SECRET_KEY: SK }, { port: 0 });
  const logFile = join(root, 'service.log');
  const service = await startService(config, createLogger('info', pino.destination({ dest: logFile, sync: true })));
  const sdk = sdkClient(service.url, AK, SK);
  try {
    // BENCH_PARTS=rps,resize,retype,create (default: all) runs a part alone.
    const parts = (process.env.BENCH_PARTS ?? 'rps,resize,retype,create').split(',');
    if (parts.includes('rps')) await throughput(sdk, root);
    if (parts.includes('resize')) await resize(sdk, logFile);
    if (parts.includes('retype')) await retype(sdk, logFile);
    if (parts.includes('create')) await createRounds(sdk, root);
  } finally {
    killHand();
    await service.close();
    killInstanceProcesses(config.dataDir);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
