/**
 * Attack (issue 11, observation 6): ~23,000 idle unauthenticated TCP connections exhausted the
 * service's file descriptors (limit 20,000 here): the API was down for 42 s and more, and a killed
 * master stayed down all that time.
 *
 * Now: the service runs as its own process with its default limits; two other processes (one process
 * cannot hold 20,000 sockets under this machine's limit of 20,000 descriptors, and raising it needs
 * CAP_SYS_RESOURCE, which this sandbox drops even for root) hold 20,000 idle connections to the API
 * from 79 loopback addresses (under the per-address limit, so the total limit and its eviction do
 * the work) and re-open every one the service closes.
 * Meanwhile a signed SDK request from 127.0.0.1 must be answered, and a `kill -9` of the instance's
 * master must be repaired (status running, key readable) about as fast as the same repair without the
 * flood, measured in the same test. Traffic stays on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portClosedAt } from '../chaos/chaos-port-closed.ts';
import { sdkClient, type SdkRedis } from '../helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../helpers/service-process.ts';
import { killInstanceProcesses, msSpec, TEST_AK, TEST_SK, waitForStatus } from '../helpers/test-service.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PASSWORD = 'Passw0rd1';
const FLOOD = 20_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dataDir = '';
let svc: ServiceProcess;
let sdk: SdkRedis;
type Figures = { open: number; connecting: number; attempts: number; closed: number; failed: number };
const attackers: { child: ChildProcess; figures: Figures }[] = [];
/** The attackers' figures, summed. */
const flood = (): Figures =>
  attackers.reduce(
    (sum, a) => ({
      open: sum.open + a.figures.open,
      connecting: sum.connecting + a.figures.connecting,
      attempts: sum.attempts + a.figures.attempts,
      closed: sum.closed + a.figures.closed,
      failed: sum.failed + a.figures.failed,
    }),
    { open: 0, connecting: 0, attempts: 0, closed: 0, failed: 0 },
  );

/** One attacker process holding `count` idle connections from 127.0.0.<first>..<last>, for at most 150 s. */
function startAttacker(count: number, first: number, last: number): void {
  const child = spawn(process.execPath, [join(ROOT, 'bin/run-ts.js'), join(ROOT, 'test/security/idle-flood.ts'), String(new URL(svc.url).port), String(count), String(first), String(last), '150'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const attacker = { child, figures: { open: 0, connecting: 0, attempts: 0, closed: 0, failed: 0 } };
  child.stdout!.on('data', (d: Buffer) => {
    const line = d.toString().trim().split('\n').at(-1);
    if (line) attacker.figures = JSON.parse(line) as Figures;
  });
  attackers.push(attacker);
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'jcs-flood-'));
  svc = new ServiceProcess(dataDir, await freePort(), '23200-23299', { JCS_LOG_LEVEL: 'warn' });
  await svc.start();
  sdk = sdkClient(svc.url, TEST_AK, TEST_SK);
});

afterAll(async () => {
  for (const a of attackers) a.child.kill('SIGKILL');
  await svc?.stop();
  killInstanceProcesses(dataDir);
  rmSync(dataDir, { recursive: true, force: true });
});

/** Descriptors the service process holds right now. */
const serviceFds = (): number => readdirSync(`/proc/${svc.child!.pid}/fd`).length;

/** kill -9 of the master, then ms until describe says running and the key reads back through the published port. */
async function repairTime(id: string, port: number): Promise<number> {
  const pid = Number(readFileSync(join(dataDir, 'instances', id, String(port), 'redis.pid'), 'utf8').trim());
  const t0 = Date.now();
  process.kill(pid, 'SIGKILL');
  expect(Number.isNaN(await portClosedAt(port))).toBe(false);
  const deadline = t0 + 60_000;
  while (Date.now() < deadline) {
    const c = new Redis({ host: '127.0.0.1', port, password: PASSWORD, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
    c.on('error', () => undefined);
    let value: string | null = null;
    try {
      await c.connect();
      value = await c.get('flood:key');
    } catch {
      // still down
    } finally {
      c.disconnect();
    }
    if (value === 'survives') {
      const status = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus as string;
      if (status === 'running') return Date.now() - t0;
    }
    await sleep(50);
  }
  throw new Error(`master of ${id} not repaired within 60 s`);
}

describe('attack: 20,000 idle connections to the API', () => {
  it('a signed request is still answered and a killed master is repaired in about its usual time', async () => {
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD }) })).result.cacheInstanceId as string;
    await waitForStatus(sdk, id, ['running'], 30_000);
    const port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;
    const writer = new Redis({ host: '127.0.0.1', port, password: PASSWORD, lazyConnect: true, maxRetriesPerRequest: 0 });
    await writer.connect();
    await writer.set('flood:key', 'survives');
    await writer.wait(1, 2_000); // replicated before the kill
    writer.disconnect();

    const quietRepairMs = await repairTime(id, port);
    const fdsBefore = serviceFds();

    startAttacker(FLOOD / 2, 2, 41);
    startAttacker(FLOOD / 2, 42, 80);
    // Until they have made their 20,000 attempts (and more: the service closes some for newcomers).
    let maxFds = 0;
    const floodDeadline = Date.now() + 60_000;
    while (flood().attempts < FLOOD + 1_000 && Date.now() < floodDeadline) {
      await sleep(250);
      maxFds = Math.max(maxFds, serviceFds());
    }
    expect(flood().attempts).toBeGreaterThan(FLOOD);

    // A signed request from 127.0.0.1, five times, each on a new connection (as the SDK does).
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      const res = await sdk.describeCacheInstance({ cacheInstanceId: id });
      latencies.push(Date.now() - t);
      expect(res.result.cacheInstance.cacheInstanceStatus).toBe('running');
      maxFds = Math.max(maxFds, serviceFds());
    }
    const floodRepairMs = await repairTime(id, port);
    maxFds = Math.max(maxFds, serviceFds());
    const during = flood();
    for (const a of attackers) a.child.kill('SIGTERM');

    const report = {
      quietRepairMs,
      floodRepairMs,
      signedRequestMs: latencies,
      serviceFds: { before: fdsBefore, maxDuringFlood: maxFds },
      attacker: during,
    };
    console.log(`api-flood figures: ${JSON.stringify(report)}`);
    // The service never came near its descriptor limit (20,000): the guard kept the engine's reserve free.
    expect(maxFds).toBeLessThan(20_000 - 2_000);
    // The flood pushed: far more connections were attempted than the service keeps, and it closed many.
    expect(during.closed).toBeGreaterThan(1_000);
    for (const ms of latencies) expect(ms).toBeLessThan(5_000);
    expect(floodRepairMs).toBeLessThan(Math.max(3 * quietRepairMs, quietRepairMs + 5_000));
  }, 240_000);
});
