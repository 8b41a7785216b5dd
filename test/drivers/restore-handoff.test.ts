// A restore step that fails in one service process lets go of its restore marker, so another process
// (PostgreSQL mode: a retry may run anywhere) can finish the restore and open the client ports. Two
// driver objects on one data directory stand for the two processes. Ports 24600-24601, TLS 24700-24701.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalSpec } from '../../src/drivers/local/local-spec.ts';
import { createLocalNodes } from '../../src/drivers/local/local-nodes.ts';
import { HOST, internalPortsFor, killEverythingUnder, recordingLogger } from './local-harness.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'jcs-restore-handoff-'));
const a = createLocalNodes({ dataDir, logger: recordingLogger() });
const b = createLocalNodes({ dataDir, logger: recordingLogger() });
await a.init(AbortSignal.timeout(20_000));
await b.init(AbortSignal.timeout(20_000));

afterAll(async () => {
  await a.close();
  await b.close();
  const killed = await killEverythingUnder(dataDir);
  await rm(dataDir, { recursive: true, force: true });
  // The test removed its instance: anything still running is a leak.
  expect(killed).toBe(0);
});

const shards = [{ master: 24_600, replica: 24_601 }];
const spec: LocalSpec = {
  id: `redis-handoff${process.pid}`,
  topology: 'master-slave',
  shards,
  internalPorts: internalPortsFor(shards, 100),
  memoryMbPerShard: 32,
  maxClients: 100,
  passwordSha256: null,
  databases: 16,
  maxmemoryPolicy: 'volatile-lru',
  ipWhiteList: ['0.0.0.0/0'],
};

describe('restore handoff between service processes', () => {
  it('a failed replaceData releases the marker: another process opens the ports', async () => {
    await a.ensurePresent(spec, AbortSignal.timeout(30_000));
    // Two files take the key-copy path: the client ports close, A's marker takes them, then loading the
    // first file (not an RDB) fails.
    const bad = join(dataDir, 'not-an-rdb');
    await writeFile(bad, 'this is not an RDB file\n');
    // The step's signal never aborts here (a failed step is not a lost lease): only the failure can free the ports.
    await expect(a.replaceData!(spec, [bad, bad], AbortSignal.timeout(600_000))).rejects.toThrow();
    // Process B takes the retry. Before the fix A's marker still held the client port, so B's
    // `CONFIG SET port` failed ("Unable to listen on this port") until A's 1-hour step bound ran out.
    await b.openAfterRestore!(spec, AbortSignal.timeout(20_000));
    const client = new Redis({ host: HOST, port: 24_600, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    await a.ensureAbsent(spec.id, AbortSignal.timeout(30_000));
  }, 120_000);
});
