/**
 * What a backup and a restore do to the host beside the tenants' nodes (real service, real Redis):
 * - the replica's snapshot runs with the replica's scheduling autogroup at nice 19 (autogroup-nice.ts),
 *   put back to 0 afterwards; the master's group is never touched;
 * - a key-copy restore's scratch redis-server runs in a memory cgroup of its own, `<instance>-r<n>`,
 *   removed when it is done (read from the memory controller while the restore runs).
 * Ports 26200-26249 belong to this file.
 */
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promisedNodeMemoryBytes } from '../../src/drivers/local/memory-guard.ts';
import { listNodeCgroups, nodeCgroupPids, openMemoryCgroups, readNodeCgroup } from '../../src/drivers/local/memory-cgroup.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';
import { backupEnd, type BackupSdk } from './backup-helpers.ts';

const PASSWORD = 'Abcd1234';
const autogroups = readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
let svc: TestService;
let sdk: BackupSdk;
const clients: Array<Redis | Cluster> = [];

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '26200-26249' });
  sdk = svc.sdk() as BackupSdk;
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

async function portOf(id: string): Promise<number> {
  return ((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number }).port;
}
const pidOf = (id: string, port: number): number => Number(readFileSync(join(svc.dataDir, 'instances', id, String(port), 'redis.pid'), 'utf8').trim());
const autogroupOf = (pid: number): string => readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();

describe.runIf(autogroups)('the replica snapshot', () => {
  it("lowers the replica's autogroup to nice 19 for the BGSAVE and puts it back to 0; the master's stays at 0", async () => {
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
    const port = await portOf(id);
    const c = new Redis({ host: '127.0.0.1', port, password: PASSWORD, maxRetriesPerRequest: 0 });
    clients.push(c);
    const p = c.pipeline();
    for (let i = 0; i < 20_000; i++) p.set(`k:${i}`, 'v'.repeat(200));
    await p.exec();
    const replicaPort = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(await c.info('replication'))?.[1]);
    const [masterPid, replicaPid] = [pidOf(id, port), pidOf(id, replicaPort)];
    expect(autogroupOf(replicaPid)).not.toBe(autogroupOf(masterPid)); // each node is its own session

    // Sample both groups while the backup runs: the replica's must be seen at 19, the master's never.
    const seen = { replica: new Set<string>(), master: new Set<string>() };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        seen.replica.add(autogroupOf(replicaPid).split(' nice ')[1]!);
        seen.master.add(autogroupOf(masterPid).split(' nice ')[1]!);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const baseId = (await sdk.createBackup({ cacheInstanceId: id, fileName: 'lowered', backupType: 1 })).result.baseId as string;
    const b = await backupEnd(sdk, id, baseId);
    sampling = false;
    await sampler;
    expect(b).toMatchObject({ backupStatus: 2, snapshotSource: 'replica' });
    expect(readFileSync(svc.logFile, 'utf8')).toMatch(new RegExp(`"instanceId":"${id}".*"replicaLowered":true.*snapshot taken`));
    expect(seen.replica).toContain('19');
    expect([...seen.master]).toEqual(['0']);
    expect(autogroupOf(replicaPid)).toMatch(/nice 0$/);
  }, 120_000);
});

describe('a key-copy restore', () => {
  it('loads each backup file in a scratch server inside its own memory cgroup <instance>-r<n>, removed afterwards', async () => {
    const found = await openMemoryCgroups();
    if (!found.available) return; // no memory controller here: the scratch server runs as the nodes do, without
    const cg = found.cgroups;
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: PASSWORD, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 3, redisVersion: '7.0' }) })).result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'], 90_000)).toBe('running');
    const c = new Cluster([{ host: '127.0.0.1', port: await portOf(id) }], { redisOptions: { password: PASSWORD }, clusterRetryStrategy: () => 50 });
    c.on('error', () => undefined);
    clients.push(c);
    // Enough keys per file that each scratch server lives a while (one slot per pipeline: a hash tag).
    for (const tag of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const p = c.pipeline();
      for (let i = 0; i < 3_000; i++) p.set(`{${tag}}:${i}`, 'v'.repeat(100));
      await p.exec();
    }
    const baseId = (await sdk.createBackup({ cacheInstanceId: id, fileName: 'copy', backupType: 1 })).result.baseId as string;
    expect(await backupEnd(sdk, id, baseId)).toMatchObject({ backupStatus: 2, backupShardNum: 3 });

    // While the restore runs: which `<id>-r<n>` groups exist, and what runs in them.
    const seen = new Map<string, Set<string>>();
    const limits = new Set<number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const name of (await listNodeCgroups(cg)).filter((n) => n.startsWith(`${id}-r`))) {
          const cmds = seen.get(name) ?? new Set<string>();
          const pids = await nodeCgroupPids(cg, name);
          for (const pid of pids) {
            // Redis rewrites its command line (proc title); its working directory is the scratch folder.
            const cmd = (() => {
              try {
                return `${readFileSync(`/proc/${pid}/comm`, 'utf8').trim()} in ${readlinkSync(`/proc/${pid}/cwd`)}`;
              } catch {
                return '';
              }
            })();
            if (cmd) cmds.add(cmd);
          }
          seen.set(name, cmds);
          const state = await readNodeCgroup(cg, name);
          // A group removed between the reads answers an unlimited default: only a group still there counts.
          if (state && pids.length > 0 && existsSync(join(cg.parent, name))) limits.add(state.limitBytes);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await sdk.restoreInstance({ cacheInstanceId: id, baseId });
    expect(await waitForStatus(sdk, id, ['running', 'error'], 120_000)).toBe('running');
    watching = false;
    await watcher;
    expect([...seen.keys()].sort()).toEqual([`${id}-r0`, `${id}-r1`, `${id}-r2`]);
    for (const [name, cmds] of seen) {
      expect([...cmds], name).toContain(`redis-server in ${join(svc.dataDir, 'instances', id, name.slice(id.length + 1))}`);
    }
    // Limited while it ran, to what the whole instance is promised (3 shards of 1 GB), and gone afterwards.
    expect([...limits]).toEqual([promisedNodeMemoryBytes(3 * 1024 ** 3)]);
    for (const name of seen.keys()) expect(existsSync(join(cg.parent, name))).toBe(false);
    expect((await listNodeCgroups(cg)).filter((n) => n.startsWith(`${id}-r`))).toEqual([]);
  }, 240_000);
});
