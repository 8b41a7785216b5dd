// Faults seen around a proxy cluster's reshard in a 300 s chaos:pg run, on the local driver with real
// redis-server and twemproxy:
// - shrinking 4 → 2 shards while a removed shard's master is dead: the reshard starts it again from its own
//   files and moves its keys, instead of failing on "cannot reach node … redis.sock" until the resize is
//   given up (ports 24400-24407, TLS 24500-24507, proxy 24410, stats 24411);
// - growing 2 → 4 with the proxy killed just before: it is started again on the old ring for the copy,
//   not left down until the reshard ends (ports 24420-24427, TLS 24520-24527, proxy 24430, stats 24431).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { LocalSpec } from '../../src/drivers/local/local-spec.ts';
import { proxyPaths, runningProxy } from '../../src/drivers/local/nutcracker.ts';
import { driverForFile, HOST, internalPortsFor, killNode } from '../drivers/local-harness.ts';

const { dataDir, logger, driver } = await driverForFile('jcs-reshard-dead-');

function spec(shardCount: number, base = 24_400): LocalSpec {
  const shards = Array.from({ length: shardCount }, (_, i) => ({ master: base + 2 * i, replica: base + 1 + 2 * i }));
  return {
    id: `redis-rs${base}x${process.pid}`,
    topology: 'cluster',
    shards,
    // The removed shards' TLS ports stay known, as the service's port book keeps them during a reshard.
    internalPorts: internalPortsFor(Array.from({ length: 4 }, (_, i) => ({ master: base + 2 * i, replica: base + 1 + 2 * i })), 100),
    proxies: [{ port: base + 10, statsPort: base + 11 }],
    memoryMbPerShard: 32,
    maxClients: 200,
    passwordSha256: null,
    databases: 16,
    maxmemoryPolicy: 'volatile-lru',
    ipWhiteList: ['0.0.0.0/0'],
  };
}

/** ensurePresent until done (a reshard answers "progressing" while it copies). */
async function converge(s: LocalSpec): Promise<void> {
  for (let i = 0; i < 20; i++) {
    // The local nodes layer answers nothing when done, { progressing } while a reshard copies.
    if (!(await driver.ensurePresent(s, AbortSignal.timeout(60_000)))) return;
  }
  throw new Error('ensurePresent never finished');
}

function proxy(port = 24_410): Redis {
  // twemproxy closes a connection that sends a command it does not know (INFO ready check, CLIENT SETINFO).
  const c = new Redis({ host: HOST, port, enableReadyCheck: false, disableClientInfo: true, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  return c;
}

describe('proxy reshard under faults', () => {
  it('restarts a removed shard master that died and moves its keys', async () => {
    await converge(spec(4));
    const keys = Array.from({ length: 2_000 }, (_, i) => `k:${i}`);
    let c = proxy();
    await c.connect();
    for (let i = 0; i < keys.length; i += 500) await c.mset(Object.fromEntries(keys.slice(i, i + 500).map((k) => [k, k])));
    c.disconnect();
    // Shard 3 goes away with the shrink; its master dies first.
    await killNode(dataDir, spec(4).id, 24_406);
    await converge(spec(2));
    expect(logger.lines.some((l) => l.includes('started again from its own files') && l.includes('24406'))).toBe(true);
    c = proxy();
    await c.connect();
    const values = await c.mget(...keys);
    c.disconnect();
    expect(values.filter((v, i) => v !== keys[i])).toEqual([]);
    await driver.ensureAbsent(spec(2).id, AbortSignal.timeout(30_000));
  }, 180_000);

  it('starts a proxy killed before the copy again on the old ring', async () => {
    const base = 24_420;
    await converge(spec(2, base));
    const keys = Array.from({ length: 2_000 }, (_, i) => `g:${i}`);
    let c = proxy(base + 10);
    await c.connect();
    for (let i = 0; i < keys.length; i += 500) await c.mset(Object.fromEntries(keys.slice(i, i + 500).map((k) => [k, k])));
    c.disconnect();
    const pid = await runningProxy(proxyPaths(dataDir, spec(2, base).id, base + 10));
    process.kill(pid!, 'SIGKILL');
    await converge(spec(4, base));
    expect(logger.lines.some((l) => l.includes('started again on the old ring') && l.includes(String(base + 10)))).toBe(true);
    c = proxy(base + 10);
    await c.connect();
    const values = await c.mget(...keys);
    c.disconnect();
    expect(values.filter((v, i) => v !== keys[i])).toEqual([]);
    await driver.ensureAbsent(spec(4, base).id, AbortSignal.timeout(30_000));
  }, 180_000);
});
