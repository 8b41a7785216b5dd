// The native-cluster topology of the local driver on real redis-server processes.
// Ports 20000-20099 belong to this file, with their TLS ports in 29000-29099 and bus ports in 29100-29199.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { LocalSpec } from '../../src/drivers/local/local-spec.ts';
import { parseClusterNodes, slotCount } from '../../src/drivers/local/cluster-nodes.ts';
import { createLocalNodes } from '../../src/drivers/local/local-nodes.ts';
import { HOST, adminConnection, internalPortsFor, killEverythingUnder, killNode, leftovers, recordingLogger } from '../drivers/local-harness.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'jcs-cluster-driver-'));
const logger = recordingLogger();
const driver = createLocalNodes({ dataDir, logger });
await driver.init(AbortSignal.timeout(20_000));
const signal = (): AbortSignal => AbortSignal.timeout(60_000);
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const clients: Array<Redis | Cluster> = [];

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await driver.close();
  const killed = await killEverythingUnder(dataDir);
  await rm(dataDir, { recursive: true, force: true });
  expect(killed).toBe(0);
});

function clusterSpec(id: string, base: number, shards: number, password: string | null): LocalSpec {
  const list = Array.from({ length: shards }, (_, i) => ({ master: base + 2 * i, replica: base + 2 * i + 1 }));
  return {
    id,
    topology: 'native-cluster',
    shards: list,
    internalPorts: internalPortsFor(list, 9_000, 9_100),
    memoryMbPerShard: 64,
    maxClients: 1000,
    passwordSha256: password === null ? null : sha256(password),
    databases: 16,
    maxmemoryPolicy: 'volatile-lru',
    ipWhiteList: ['0.0.0.0/0'],
  };
}

function clusterClient(port: number, password: string | null): Cluster {
  const c = new Cluster([{ host: HOST, port }], {
    redisOptions: password === null ? {} : { password },
    // Slots move during some tests: follow MOVED/ASK, retry TRYAGAIN and CLUSTERDOWN like any client.
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 20,
  });
  clients.push(c);
  return c;
}

async function writeKeys(c: Cluster, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, j) => c.set(`${prefix}:${i + j}`, `v${i + j}`)));
  }
}

/**
 * Checks the topology on every node's CLUSTER NODES. Slot ownership is agreed before the driver reports
 * success; a replica's role reaches the other nodes by gossip within cluster-node-timeout / 2, so the
 * check is retried for a few seconds.
 */
async function checkTopology(spec: LocalSpec): Promise<void> {
  const deadline = Date.now() + 6_000;
  for (;;) {
    try {
      return await checkTopologyOnce(spec);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function checkTopologyOnce(spec: LocalSpec): Promise<void> {
  const admins = await Promise.all(spec.shards.flatMap((s) => [s.master, s.replica]).map((p) => adminConnection(dataDir, spec.id, p)));
  try {
    for (const admin of admins) {
      expect(String(await admin.call('CLUSTER', 'INFO'))).toMatch(/cluster_state:ok/);
      const entries = parseClusterNodes(String(await admin.call('CLUSTER', 'NODES')));
      expect(entries).toHaveLength(spec.shards.length * 2);
      const me = entries.find((e) => e.flags.has('myself'))!;
      expect(me.importing.size + me.migrating.size).toBe(0);
      let served = 0;
      for (const s of spec.shards) {
        const m = entries.find((e) => e.port === s.master)!;
        const r = entries.find((e) => e.port === s.replica)!;
        expect(m.flags.has('master')).toBe(true);
        expect(r.flags.has('slave')).toBe(true);
        expect(r.masterId).toBe(m.id);
        const owned = slotCount(m.slots);
        // Even split: 16384 / shards, rounded either way.
        expect(Math.abs(owned - 16384 / spec.shards.length)).toBeLessThan(1);
        served += owned;
      }
      expect(served).toBe(16384);
    }
    for (const s of spec.shards) {
      const replica = admins[spec.shards.indexOf(s) * 2 + 1]!;
      expect(String(await replica.call('INFO', 'replication'))).toMatch(/master_link_status:up/);
    }
  } finally {
    for (const a of admins) a.disconnect();
  }
}

describe('native-cluster on the local driver', () => {
  const spec = clusterSpec(`redis-clu1x${process.pid}`, 20000, 3, 'first-pass');

  it('creates a verified 3-shard cluster that takes 10,000 keys through a cluster client', async () => {
    expect(driver.topologies).toContain('native-cluster');
    const started = Date.now();
    await driver.ensurePresent(spec, signal());
    logger.info({ ms: Date.now() - started }, 'test: cluster created');
    // Each shard was handed to its spec master without an election: simultaneous coordinated failovers
    // split the masters' votes, and one of them always waited out Redis's 5 s (creates of ~6 s).
    const ours = logger.lines.filter((l) => l.includes(`"instanceId":"${spec.id}"`));
    expect(ours.filter((l) => l.includes('new cluster: shard handed to the spec master by a paused takeover') && l.includes('"result":"taken"'))).toHaveLength(3);
    expect(ours.filter((l) => /failing back to the spec master|coordinated failover did not finish/.test(l))).toEqual([]);
    const obs = await driver.observe(spec, signal());
    expect(obs.problems).toEqual([]);
    expect(obs.healthy).toBe(true);
    expect(obs.nodes).toHaveLength(6);
    await checkTopology(spec);

    const c = clusterClient(20000, 'first-pass');
    await writeKeys(c, 10_000, 'k');
    let total = 0;
    for (const s of spec.shards) {
      const admin = await adminConnection(dataDir, spec.id, s.master);
      const n = Number(await admin.dbsize());
      admin.disconnect();
      // Every shard holds a fair part of the keys: the slots really are spread.
      expect(n).toBeGreaterThan(2_500);
      total += n;
    }
    expect(total).toBe(10_000);
    expect(await c.get('k:9999')).toBe('v9999');
    // The customer may read the topology but not change it.
    await expect(c.call('CLUSTER', 'SLOTS')).resolves.toBeTruthy();
    const direct = new Redis({ host: HOST, port: 20000, password: 'first-pass', lazyConnect: true });
    clients.push(direct);
    await direct.connect();
    await expect(direct.call('CLUSTER', 'ADDSLOTS', '1')).rejects.toThrow(/NOPERM/);
    await expect(direct.call('CONFIG', 'SET', 'maxmemory', '0')).rejects.toThrow(/NOPERM/);
    // maxmemory is per shard.
    expect(obs.nodes.every((n) => n.maxmemoryBytes === 64 * 1024 * 1024)).toBe(true);
    c.disconnect();
    direct.disconnect();
  });

  it('a second ensurePresent adopts the healthy cluster without restarting anything', async () => {
    const before = (await driver.observe(spec, signal())).nodes.map((n) => n.pid);
    await driver.ensurePresent(spec, signal());
    const after = (await driver.observe(spec, signal())).nodes.map((n) => n.pid);
    expect(after).toEqual(before);
  });

  it('changes the password live on every node; open connections stay authenticated', async () => {
    const open = new Redis({ host: HOST, port: 20002, password: 'first-pass', lazyConnect: true });
    clients.push(open);
    await open.connect();
    const next = { ...spec, passwordSha256: sha256('second-pass') };
    const pids = (await driver.observe(spec, signal())).nodes.map((n) => n.pid);
    await driver.setPassword(next, signal());
    const obs = await driver.observe(next, signal());
    expect(obs.healthy).toBe(true);
    expect(obs.nodes.map((n) => n.pid)).toEqual(pids);
    expect(await open.ping()).toBe('PONG');
    for (const s of next.shards) {
      for (const port of [s.master, s.replica]) {
        const fresh = new Redis({ host: HOST, port, password: 'first-pass', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
        await expect(fresh.connect()).rejects.toThrow();
        fresh.disconnect();
      }
    }
    spec.passwordSha256 = next.passwordSha256;
    open.disconnect();
    const c = clusterClient(20000, 'second-pass');
    expect(await c.get('k:1234')).toBe('v1234');
  });

  it('repairs a killed master: its replica takes over, the master returns and the shard fails back', async () => {
    await killNode(dataDir, spec.id, 20002);
    await driver.ensurePresent(spec, signal());
    await checkTopology(spec);
    // The replica held the shard's 3,000-odd keys, so it took over before the master came back.
    expect(logger.lines.some((l) => l.includes('its replica took over') && l.includes('"port":20003'))).toBe(true);
    expect(logger.lines.some((l) => l.includes('failing back to the spec master') && l.includes('"port":20002'))).toBe(true);
    const c = clusterClient(20000, 'second-pass');
    expect(await c.get('k:4321')).toBe('v4321');
    expect(await c.dbsize()).toBeGreaterThan(0);
  });

  it('repairs a killed replica', async () => {
    await killNode(dataDir, spec.id, 20005);
    expect((await driver.observe(spec, signal())).healthy).toBe(false);
    await driver.ensurePresent(spec, signal());
    await checkTopology(spec);
  });

  it('delete removes every process, port and file', async () => {
    await driver.ensureAbsent(spec.id, signal());
    expect(await leftovers(dataDir, spec.id, spec.shards.flatMap((s) => [s.master, s.replica]))).toEqual([]);
  });
});
