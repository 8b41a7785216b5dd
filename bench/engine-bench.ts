/**
 * `npm run bench:engine`: the engine with N instances, with the fake driver (N = 100, 500, 2000) and with
 * real Redis through the local driver (N = 50, 200; BENCH_ENGINE_REAL=0 skips it):
 * - engine CPU while idle (process CPU time per second of wall time, % of one core),
 * - the health-check interval actually achieved (mean gap between two observes of one instance; 500 ms
 *   asked),
 * - time from a create's commit to its first driver call while 10% of instances are hung (their observes
 *   never answer: fake faults, or SIGSTOP of the master's process with real Redis), median and p95.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import type { Driver } from '../src/drivers/driver.ts';
import { startService } from '../src/main.ts';
import { engineHarness } from '../test/engine/engine-harness.ts';
import { killInstanceProcesses, msSpec } from '../test/helpers/test-service.ts';
import { sdkClient } from '../test/helpers/sdk-client.ts';

const IDLE_MS = Number(process.env.BENCH_ENGINE_IDLE_MS ?? 10_000);
const CREATES = 10;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const p95 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] ?? NaN;
const fmt = (n: number, d = 1): string => n.toFixed(d);

/** CPU of this process (user + system) per wall second, in % of one core, over `ms`. */
async function cpuOver(ms: number): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100;
}

/** Samples how late a 5 ms timer fires, until stopped: the delay any callback of this process sees. */
function loopLag(): { stop: () => number[] } {
  const lags: number[] = [];
  let timer: NodeJS.Timeout;
  const tick = (due: number): void => {
    timer = setTimeout(() => {
      lags.push(performance.now() - due);
      tick(performance.now() + 5);
    }, 5);
  };
  tick(performance.now() + 5);
  return {
    stop: () => {
      clearTimeout(timer);
      return lags;
    },
  };
}

/**
 * The interval each instance was checked at, from the observes made after `since` (over `windowMs`): N
 * instances checked R times a second are each checked every N / R seconds.
 */
function achievedInterval(calls: Array<{ op: string; atMs: number }>, since: number, windowMs: number, n: number): number {
  const observes = calls.filter((c) => c.op === 'observe' && c.atMs >= since && c.atMs < since + windowMs).length;
  return observes === 0 ? Infinity : (n * windowMs) / observes;
}

async function fakeRun(n: number): Promise<string> {
  // The product logs at info: a debug line per driver call would be the bench's own cost.
  const h = await engineHarness({ healthIntervalMs: 500, observeTimeoutMs: 5_000, logLevel: 'info' });
  try {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await h.create(i % 2 ? 'AKONE' : 'AKTWO')).id);
    await h.engine.idle(120_000);
    await sleep(1_000);
    const since = performance.now();
    const cpu = await cpuOver(IDLE_MS);
    const interval = achievedInterval(h.fake.calls, since, IDLE_MS, n);
    for (const id of ids.slice(0, Math.ceil(n / 10))) h.fake.fault(id, { hang: true, ops: ['observe'] });
    await sleep(1_000);
    const delays: number[] = [];
    for (let i = 0; i < CREATES; i++) {
      const { id, committedMs } = await h.create('AKTWO');
      await h.waitFor('the first driver call', () => h.fake.callsOf(id, 'ensurePresent').length > 0, 30_000);
      delays.push(h.fake.callsOf(id, 'ensurePresent')[0]!.atMs - committedMs);
      await sleep(50);
    }
    return `| fake | ${n} | ${fmt(cpu)} | ${fmt(interval, 0)} | ${fmt(median(delays), 1)} | ${fmt(p95(delays), 1)} | |`;
  } finally {
    await h.close();
  }
}

async function realRun(n: number): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jcs-engine-bench-'));
  const firstCall = new Map<string, number>();
  const observes: Array<{ op: string; instanceId: string; atMs: number }> = [];
  const record = (d: Driver): Driver => ({
    ...d,
    get capabilities() {
      return d.capabilities;
    },
    ensurePresent(spec, signal) {
      if (!firstCall.has(spec.id)) firstCall.set(spec.id, performance.now());
      return d.ensurePresent(spec, signal);
    },
    observe(spec, signal) {
      observes.push({ op: 'observe', instanceId: spec.id, atMs: performance.now() });
      return d.observe(spec, signal);
    },
  });
  const config = loadConfig(
    {
      JCS_DATA_DIR: dataDir,
      JCS_INSTANCE_PORTS: '40000-45999',
      JCS_ACCESS_KEY: 'BENCHAK',
      JCS_SECRET_KEY: 'BENCHSK',
      JCS_QUOTA: '2000',
      JCS_QUOTA_NODES: '5000',
      JCS_HOST_MEMORY_MB: String(1 << 30),
      JCS_PORT_QUARANTINE_S: '0',
      JCS_LOG_LEVEL: 'warn',
    },
    { port: 0 },
  );
  const svc = await startService(config, pino({ level: 'warn' }), { instrumentDriver: record });
  // The domain calls engine.notify() right after a commit: its time is the commit's.
  let lastNotify = NaN;
  const notify = svc.engine.notify.bind(svc.engine);
  svc.engine.notify = () => {
    lastNotify = performance.now();
    notify();
  };
  try {
    const sdk = sdkClient(svc.url, 'BENCHAK', 'BENCHSK');
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1' }) })).result.cacheInstanceId as string);
    await svc.engine.idle(600_000);
    await sleep(2_000);
    const since = performance.now();
    const cpu = await cpuOver(IDLE_MS);
    const interval = achievedInterval(observes, since, IDLE_MS, n);
    const stopped: number[] = [];
    for (const id of ids.slice(0, Math.ceil(n / 10))) {
      const row = await svc.db.selectFrom('instances').select('endpoint_port').where('id', '=', id).executeTakeFirstOrThrow();
      const pid = Number(readFileSync(join(dataDir, 'instances', id, String(row.endpoint_port), 'redis.pid'), 'utf8').trim());
      process.kill(pid, 'SIGSTOP');
      stopped.push(pid);
    }
    await sleep(1_000);
    const delays: number[] = [];
    // The floor: how late the process's own timers run meanwhile (a busy loop or a starved CPU delays
    // every callback, the first driver call included).
    const lag = loopLag();
    for (let i = 0; i < CREATES; i++) {
      const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1' }) })).result.cacheInstanceId as string;
      const committed = lastNotify; // the service tells the engine right after the create's commit
      const deadline = Date.now() + 30_000;
      while (!firstCall.has(id) && Date.now() < deadline) await sleep(1);
      delays.push((firstCall.get(id) ?? NaN) - committed);
      await sleep(50);
    }
    const lags = lag.stop();
    for (const pid of stopped) process.kill(pid, 'SIGCONT');
    const loop = `${fmt(median(lags), 1)} / ${fmt(p95(lags), 1)}`;
    return `| real | ${n} | ${fmt(cpu)} | ${fmt(interval, 0)} | ${fmt(median(delays), 1)} | ${fmt(p95(delays), 1)} | ${loop} |`;
  } finally {
    await svc.close();
    killInstanceProcesses(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const rows: string[] = [];
for (const n of (process.env.BENCH_ENGINE_FAKE ?? '100,500,2000').split(',').filter(Boolean).map(Number)) rows.push(await fakeRun(n));
if (process.env.BENCH_ENGINE_REAL !== '0') for (const n of (process.env.BENCH_ENGINE_REAL_N ?? '50,200').split(',').filter(Boolean).map(Number)) rows.push(await realRun(n));
process.stdout.write(
  [
    '',
    `engine with N instances: idle CPU over ${IDLE_MS / 1000} s, health-check interval achieved (500 ms asked),`,
    `create commit → first driver call with 10% of instances hung (${CREATES} creates)`,
    '',
    '| driver | N | idle CPU (% of one core) | interval achieved (ms) | first call median (ms) | p95 (ms) | event-loop delay meanwhile, median / p95 (ms) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n'),
);
