/**
 * `npm run bench:failover`: `kill -9` of a master-slave instance's master while a client writes to the
 * published endpoint, FAILOVER_KILLS times (default 12), then, on the same instance in the same run,
 * `SIGSTOP` of its master FAILOVER_FREEZES times (default 12): a hung master that accepts connections and
 * answers nothing, left frozen until the service fences it (JCS_HUNG_NODE_MS, default 5000, passed
 * through when set). Measures the time from the kill or the freeze to the first acknowledged write on
 * the same endpoint (no API call is made; the engine's health loop repairs it), counts acknowledged
 * writes missing afterwards, and records the statuses describeCacheInstance shows during the repair.
 * The service runs as its own process, as in production.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisProcessesUnder } from '../test/chaos/chaos-leaks.ts';
import { processStateSync } from '../test/chaos/chaos-roles.ts';
import { portClosedAt } from '../test/chaos/chaos-port-closed.ts';
import { percentile, summarizeMs } from '../test/chaos/chaos-stats.ts';
import { ChaosWriter, plainClient } from '../test/chaos/chaos-writer.ts';
import { sdkClient } from '../test/helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../test/helpers/service-process.ts';
import { killInstanceProcesses, msSpec, TEST_AK, TEST_SK, waitForStatus } from '../test/helpers/test-service.ts';

const KILLS = Number(process.env.FAILOVER_KILLS ?? 12);
const FREEZES = Number(process.env.FAILOVER_FREEZES ?? 12);
const HUNG_NODE_MS = process.env.JCS_HUNG_NODE_MS;
const PASSWORD = 'Passw0rd1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const dataDir = mkdtempSync(join(tmpdir(), 'jcs-failover-'));
const svc = new ServiceProcess(dataDir, await freePort(), '22800-22999', HUNG_NODE_MS ? { JCS_HUNG_NODE_MS: HUNG_NODE_MS } : {});
try {
  await svc.start();
  const sdk = sdkClient(svc.url, TEST_AK, TEST_SK);
  const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD }) })).result.cacheInstanceId as string;
  await waitForStatus(sdk, id, ['running']);
  const { port } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number };
  const writer = new ChaosWriter('127.0.0.1', port, () => [PASSWORD], 'fo:', 1);
  writer.start();

  const recoveries: number[] = [];
  const kills: number[] = [];
  const statusTrails: string[] = [];
  const masterPid = (): number => Number(readFileSync(join(dataDir, 'instances', id, String(port), 'redis.pid'), 'utf8').trim());
  for (let i = 0; i < KILLS; i++) {
    await waitForStatus(sdk, id, ['running'], 30_000);
    await sleep(1_000); // a steady stream of writes, replicated, before each kill
    const pid = masterPid();
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');
    kills.push(t0);
    // Recovery counts from the kill, but only writes sent once the port closed count as "after".
    const dead = await portClosedAt(port);
    if (Number.isNaN(dead)) throw new Error(`kill ${i + 1}: port ${port} still open 2 s after SIGKILL`);
    // What an API user sees meanwhile: statuses (with reasons) until the instance is running again.
    const trail = watchStatus(sdk, id, t0);
    const ackedAt = await writer.firstAckAfter(dead, 30_000);
    if (Number.isNaN(ackedAt)) throw new Error(`kill ${i + 1}: no write succeeded within 30 s`);
    recoveries.push(ackedAt - t0);
    statusTrails.push(await trail);
    console.log(`kill ${i + 1}/${KILLS}: first write after ${ackedAt - t0} ms; statuses: ${statusTrails.at(-1)}`);
  }

  // The same instance, its master frozen: the kernel still accepts connections on its ports, nothing answers.
  const freezeRecoveries: number[] = [];
  const freezes: number[] = [];
  const freezeTrails: string[] = [];
  let woken = 0;
  for (let i = 0; i < FREEZES; i++) {
    await waitForStatus(sdk, id, ['running'], 30_000);
    await sleep(1_000);
    const pid = masterPid();
    const t0 = Date.now();
    process.kill(pid, 'SIGSTOP');
    freezes.push(t0);
    const trail = watchStatus(sdk, id, t0);
    const ackedAt = await writer.firstAckAfter(t0, 30_000);
    if (Number.isNaN(ackedAt)) throw new Error(`freeze ${i + 1}: no write succeeded within 30 s`);
    freezeRecoveries.push(ackedAt - t0);
    freezeTrails.push(await trail);
    // Fenced: the frozen process is gone, so it can never wake up as a second master. Woken means not fenced.
    const state = processStateSync(pid);
    if (state !== null && state !== 'Z') {
      woken++;
      process.kill(pid, 'SIGCONT');
    }
    console.log(`freeze ${i + 1}/${FREEZES}: first write after ${ackedAt - t0} ms; old process ${state === null || state === 'Z' ? 'gone (fenced)' : `still there (${state}), woken`}; statuses: ${freezeTrails.at(-1)}`);
  }
  await waitForStatus(sdk, id, ['running'], 30_000);
  await writer.stop();

  // Every acknowledged write, read back through the published endpoint.
  const c = plainClient('127.0.0.1', port);
  await c.connect();
  await c.call('AUTH', PASSWORD);
  const lost: { seq: number; msBeforeKill: number; afterFreeze: boolean }[] = [];
  for (let i = 0; i < writer.acks.length; i += 1000) {
    const batch = writer.acks.slice(i, i + 1000);
    const values = await c.mget(...batch.map((a) => writer.key(a.seq)));
    batch.forEach((a, j) => {
      if (values[j] === String(a.seq)) return;
      const kill = [...kills, ...freezes].sort((x, y) => x - y).find((k) => k >= a.ackedAt) ?? NaN;
      lost.push({ seq: a.seq, msBeforeKill: kill - a.ackedAt, afterFreeze: freezes.includes(kill) });
    });
  }
  c.disconnect();

  const lostAfterFreeze = lost.filter((l) => l.afterFreeze).length;
  console.log(`\nfailover: ${KILLS} master kills (SIGKILL) and ${FREEZES} master freezes (SIGSTOP) of one master-slave instance, writer on the published port`);
  console.log(`  kill -9 → first acknowledged write: ${summarizeMs(recoveries)}`);
  console.log(`  median ≤ 2 s target: ${percentile(recoveries, 0.5) <= 2_000 ? 'met' : 'MISSED'}`);
  console.log(`  SIGSTOP → first acknowledged write: ${summarizeMs(freezeRecoveries)} (hung-node bound ${HUNG_NODE_MS ?? 5000} ms; fenced ${FREEZES - woken}/${FREEZES})`);
  console.log(
    `  acknowledged writes: ${writer.acks.length}, lost: ${lost.length} (${lost.length - lostAfterFreeze} before a kill, ${lostAfterFreeze} before a freeze)` +
      (lost.length ? `, all acknowledged at most ${Math.max(...lost.map((l) => l.msBeforeKill))} ms before it` : ''),
  );
  console.log(`  statuses seen by describeCacheInstance, first kill: ${statusTrails[0]}`);
  console.log(`  statuses seen by describeCacheInstance, first freeze: ${freezeTrails[0]}`);
} finally {
  await svc.stop('SIGKILL');
  killInstanceProcesses(dataDir);
  for (const p of redisProcessesUnder(dataDir)) process.kill(p.pid, 'SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}

/** Polls describeCacheInstance from the kill until `running` follows a change; returns the trail with reasons. */
async function watchStatus(sdk: ReturnType<typeof sdkClient>, id: string, t0: number): Promise<string> {
  const trail: string[] = [];
  let last = 'running';
  let left = false;
  while (Date.now() - t0 < 30_000) {
    const ci = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as {
      cacheInstanceStatus: string;
      extension?: { statusReason?: string };
    };
    if (ci.cacheInstanceStatus !== last) {
      trail.push(`+${Date.now() - t0} ms ${ci.cacheInstanceStatus} (${ci.extension?.statusReason ?? ''})`);
      last = ci.cacheInstanceStatus;
      left ||= last !== 'running';
    }
    if (left && last === 'running') break;
    // A repair faster than the poll can leave no trace: stop once writes are back and a while has passed.
    if (!left && Date.now() - t0 > 3_000) break;
    await sleep(20);
  }
  return trail.length ? `running → ${trail.join(' → ')}` : 'stayed running (repaired between two polls)';
}

