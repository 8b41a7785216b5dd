// A native-cluster create cut short half-way through forming (issue 13's chaos:pg run: a node frozen and
// fenced while the slots were being handed out) is finished by the next ensurePresent, on real
// redis-server processes. Ports 24000-24005, TLS 24100-24105, bus 24200-24205 belong to this file.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LocalSpec } from '../../src/drivers/local/local-spec.ts';
import { nodePaths } from '../../src/drivers/local/instance-paths.ts';
import { driverForFile, internalPortsFor } from '../drivers/local-harness.ts';

const { dataDir, driver } = await driverForFile('jcs-half-made-');

const shards = [0, 1, 2].map((i) => ({ master: 24_000 + 2 * i, replica: 24_000 + 2 * i + 1 }));
const spec: LocalSpec = {
  id: `redis-half${process.pid}`,
  topology: 'native-cluster',
  shards,
  internalPorts: internalPortsFor(shards, 100, 200),
  memoryMbPerShard: 64,
  maxClients: 1000,
  passwordSha256: null,
  databases: 16,
  maxmemoryPolicy: 'volatile-lru',
  ipWhiteList: ['0.0.0.0/0'],
};

/**
 * The state a create leaves when it stops inside formMembership's first branch: every node has its config
 * epoch, the replica ports of shards 0 and 1 got their slots, shard 2's did not (its node was frozen and
 * then fenced, so ADDSLOTSRANGE never reached it), and no MEET was sent. Each node finds it in its own
 * nodes.conf when the driver starts it.
 */
async function halfMadeNodesConf(): Promise<void> {
  const ranges = [[0, 5460], [5461, 10922], null];
  for (const [i, s] of shards.entries()) {
    for (const [port, epoch, slots] of [
      [s.master, i + 1, null],
      [s.replica, shards.length + i + 1, ranges[i]],
    ] as const) {
      const dir = nodePaths(dataDir, spec.id, port).dir;
      await mkdir(dir, { recursive: true });
      const id = randomBytes(20).toString('hex');
      const line = `${id} 127.0.0.1:${port}@${port + 200} myself,master - 0 0 ${epoch} connected${slots ? ` ${slots[0]}-${slots[1]}` : ''}`;
      await writeFile(join(dir, 'nodes.conf'), `${line}\nvars currentEpoch ${epoch} lastVoteEpoch 0\n`);
    }
  }
}

describe('a half-made native cluster', () => {
  it('is formed by the next ensurePresent: missing slots assigned before the roles step', async () => {
    await halfMadeNodesConf();
    // Before the fix the roles step waited for cluster_state:ok, which a cluster missing shard 2's slots
    // never reaches: "timed out waiting for the shards' roles (2 shards not settled)" after 20 s.
    await driver.ensurePresent(spec, AbortSignal.timeout(60_000));
    const obs = await driver.observe(spec, AbortSignal.timeout(20_000));
    expect(obs.problems).toEqual([]);
    expect(obs.healthy).toBe(true);
    expect(obs.nodes).toHaveLength(6);
    await driver.ensureAbsent(spec.id, AbortSignal.timeout(30_000));
  }, 90_000);
});
