// A proxy cluster shrinking 4 → 2 shards while a removed shard's master is dead (SIGKILLed just before, as
// in the chaos:pg run): the reshard starts it again from its own files and moves its keys, instead of
// failing on "cannot reach node … ENOENT redis.sock" until the resize is given up. Local driver on real
// redis-server and twemproxy. Ports 24400-24407 (TLS 24500-24507), proxy 24410 (stats 24411).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalSpec } from '../../src/drivers/local/local-spec.ts';
import { createLocalNodes } from '../../src/drivers/local/local-nodes.ts';
import { HOST, internalPortsFor, killEverythingUnder, killNode, recordingLogger } from '../drivers/local-harness.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'jcs-reshard-dead-'));
const logger = recordingLogger();
const driver = createLocalNodes({ dataDir, logger });
await driver.init(AbortSignal.timeout(20_000));

afterAll(async () => {
  await driver.close();
  const killed = await killEverythingUnder(dataDir);
  await rm(dataDir, { recursive: true, force: true });
  // The test removes its instance: anything still running is a leak.
  expect(killed).toBe(0);
});

function spec(shardCount: number): LocalSpec {
  const shards = Array.from({ length: shardCount }, (_, i) => ({ master: 24_400 + 2 * i, replica: 24_401 + 2 * i }));
  return {
    id: `redis-rsdead${process.pid}`,
    topology: 'cluster',
    shards,
    // The removed shards' TLS ports stay known, as the service's port book keeps them during a reshard.
    internalPorts: internalPortsFor(Array.from({ length: 4 }, (_, i) => ({ master: 24_400 + 2 * i, replica: 24_401 + 2 * i })), 100),
    proxies: [{ port: 24_410, statsPort: 24_411 }],
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

function proxy(): Redis {
  // twemproxy closes a connection that sends a command it does not know (INFO ready check, CLIENT SETINFO).
  const c = new Redis({ host: HOST, port: 24_410, enableReadyCheck: false, disableClientInfo: true, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  return c;
}

describe('proxy reshard with a dead source', () => {
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
});
