/**
 * One shard's backup: an RDB snapshot (BGSAVE) taken on the shard's replica, never on the master a
 * tenant writes to while the replica is healthy. Consistent with what was acknowledged: the master's
 * replication offset is read first and the snapshot starts only once the replica has applied at least
 * that much, so every write the master acknowledged before the backup was asked for is in the file.
 */
import type { Redis } from 'ioredis';
import { copyFile, readFile, rename, rm } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import type { ShardSnapshot } from '../driver.ts';
import { lowerAutogroup, type LoweredAutogroup } from './autogroup-nice.ts';
import { checkRdb, niceSha256 } from './check-rdb.ts';
import { nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import type { LocalContext } from './local-context.ts';
import type { LocalSpec } from './local-spec.ts';
import { readInfo } from './node-state.ts';
import { POLL_MS, sleep } from './redis-node.ts';

/** The longest a replica's scheduling group stays at nice 19 for a snapshot (it also applies its master's stream). */
const LOWERED_MAX_MS = 10_000;
/** How long a replica may take to apply what its master acknowledged before the master is used instead. */
const CATCH_UP_MS = 10_000;
/** The file BGSAVE writes in the node's directory (the generated conf leaves `dbfilename` at Redis's default). */
const DUMP_FILE = 'dump.rdb';
/** A scheduled BGSAVE starts at Redis's next cron turn after the AOF rewrite it waits for. */
const START_GRACE_MS = 2_000;

interface Candidate {
  port: number;
  client: Redis;
  info: Map<string, string>;
}

/** The node to snapshot: the replica once caught up, or the master with the reason there is no better. */
async function chooseNode(ctx: LocalContext, spec: LocalSpec, shard: number, secrets: InstanceCredentials, signal: AbortSignal): Promise<{ node: Candidate; master: Candidate; source: 'replica' | 'master'; reason: string }> {
  const ports = spec.shards[shard];
  if (!ports) throw new Error(`instance ${spec.id} has no shard ${shard}`);
  const nodes: Candidate[] = [];
  for (const port of [ports.master, ports.replica]) {
    const client = await ctx.pool.get(port, secrets).catch(() => null);
    if (!client) continue;
    const i = await readInfo(client, 'replication', 'memory').catch(() => null);
    if (i) nodes.push({ port, client, info: i });
  }
  const master = nodes.find((n) => n.info.get('role') === 'master');
  if (!master) throw new Error(`shard ${shard} of ${spec.id} has no reachable master`);
  const replica = nodes.find((n) => n.info.get('role') === 'slave');
  if (!replica || replica.info.get('master_link_status') !== 'up' || replica.info.get('master_sync_in_progress') === '1') {
    return { node: master, master, source: 'master', reason: replica ? 'the replica is not linked to the master' : 'the replica is down' };
  }
  // Everything the master acknowledged so far has this offset or less; the replica applies in order.
  const target = Number((await readInfo(master.client, 'replication')).get('master_repl_offset') ?? 0);
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    const offset = Number((await readInfo(replica.client, 'replication')).get('slave_repl_offset') ?? -1);
    if (offset >= target) return { node: replica, master, source: 'replica', reason: '' };
    if (Date.now() > deadline) return { node: master, master, source: 'master', reason: `the replica did not catch up with the master within ${CATCH_UP_MS} ms` };
    await sleep(POLL_MS, signal);
  }
}

/** Lowest CPU priority: a snapshot's child yields the CPU to the nodes that serve tenants. */
const SNAPSHOT_NICE = 19;

/**
 * Lowers the CPU priority of the node's forked children (the BGSAVE child): on a small host the fork
 * competes with the master for the same cores. Best effort: a child gone already needs nothing.
 */
async function deprioritiseChildren(pid: number): Promise<boolean> {
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const pids = children.split(/\s+/).filter(Boolean).map(Number);
  for (const child of pids) {
    try {
      setPriority(child, SNAPSHOT_NICE);
    } catch {
      // exited meanwhile
    }
  }
  return pids.length > 0;
}

async function pidOf(node: Candidate): Promise<number> {
  return Number((await readInfo(node.client, 'server')).get('process_id') ?? 0);
}

/**
 * A replica's whole autogroup (the replica and the BGSAVE child it forks) at nice 19 for the snapshot, so
 * the fork competes less with the master for the cores (autogroup-nice.ts); never the master's group.
 */
async function lowerReplica(chosen: { node: Candidate; master: Candidate; source: 'replica' | 'master' }): Promise<LoweredAutogroup | null> {
  if (chosen.source !== 'replica') return null;
  const [pid, masterPid] = await Promise.all([pidOf(chosen.node), pidOf(chosen.master)]);
  return pid > 0 ? lowerAutogroup(pid, { maxMs: LOWERED_MAX_MS, avoid: masterPid > 0 ? [masterPid] : [] }) : null;
}

/** BGSAVE on `node` and wait for it; a failed save (full disk, unwritable directory) is thrown with Redis's word for it. */
async function bgsave(node: Candidate, signal: AbortSignal): Promise<void> {
  const before = Number((await readInfo(node.client, 'persistence')).get('rdb_saves') ?? 0);
  const pid = await pidOf(node);
  let reniced = false;
  // SCHEDULE: a replica may be rewriting its AOF right now (after a sync); the save then runs after it,
  // started by Redis's cron (every 100 ms at the default hz).
  await node.client.call('BGSAVE', 'SCHEDULE');
  let idleSince: number | null = null;
  for (;;) {
    await sleep(POLL_MS * 4, signal);
    const p = await readInfo(node.client, 'persistence');
    if (p.get('rdb_bgsave_in_progress') === '1' || p.get('aof_rewrite_in_progress') === '1') {
      if (!reniced && p.get('rdb_bgsave_in_progress') === '1' && pid > 0) reniced = await deprioritiseChildren(pid);
      idleSince = null;
      continue;
    }
    const ok = p.get('rdb_last_bgsave_status') === 'ok';
    const failed = new Error(`the snapshot on port ${node.port} failed (Redis reports rdb_last_bgsave_status:${p.get('rdb_last_bgsave_status')}; disk full?)`);
    if (Number(p.get('rdb_saves') ?? 0) > before) {
      if (ok) return;
      throw failed;
    }
    idleSince ??= Date.now();
    if (Date.now() - idleSince > START_GRACE_MS) throw ok ? new Error(`the snapshot on port ${node.port} did not start`) : failed;
  }
}

/** Moves the node's fresh dump to `dest` (a rename on one filesystem, else a copy); the dump never stays behind. */
async function moveDump(from: string, dest: string): Promise<void> {
  try {
    await rename(from, dest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') {
      await rm(from, { force: true });
      throw err;
    }
    try {
      await copyFile(from, dest);
    } finally {
      await rm(from, { force: true });
    }
  }
}

/** Driver.snapshotShard for the local driver. */
export async function snapshotShard(ctx: LocalContext, checkRdbBinary: string, spec: LocalSpec, shard: number, secrets: InstanceCredentials, dest: string, signal: AbortSignal): Promise<ShardSnapshot> {
  const t0 = Date.now();
  const chosen = await chooseNode(ctx, spec, shard, secrets, signal);
  const usedMemoryBytes = Number(chosen.master.info.get('used_memory') ?? 0);
  const t1 = Date.now();
  const lowered = await lowerReplica(chosen);
  try {
    await bgsave(chosen.node, signal);
  } finally {
    await lowered?.restore();
  }
  const t2 = Date.now();
  const dump = join(nodePaths(ctx.dataDir, spec.id, chosen.node.port).dir, DUMP_FILE);
  await moveDump(dump, dest);
  const t3 = Date.now();
  // Both read the whole file: side by side, on a file the page cache holds (it was just written).
  const [{ keys }, { bytes, sha256 }] = await Promise.all([checkRdb(checkRdbBinary, dest, signal), niceSha256(dest, signal)]);
  // Where a backup's time goes (docs/benchmarks.md): catch-up, BGSAVE, move, check and checksum.
  ctx.logger.info({ instanceId: spec.id, shard, catchUpMs: t1 - t0, bgsaveMs: t2 - t1, moveMs: t3 - t2, checkMs: Date.now() - t3, bytes, replicaLowered: lowered?.lowered ?? false }, 'snapshot taken');
  if (chosen.source === 'master') ctx.logger.warn({ instanceId: spec.id, shard, reason: chosen.reason }, 'backup snapshot taken on the master');
  return { source: chosen.source, reason: chosen.reason, bytes, keys, sha256, usedMemoryBytes };
}
