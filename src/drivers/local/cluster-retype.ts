/**
 * Type change between master-slave and native-cluster, as a wrapper around the target topology's handler.
 * Level-based like the rest of the driver: nodes of this instance that run but are not in the spec and are
 * of the other kind (cluster-enabled or not) are the old topology. ensurePresent then
 * 1. refuses, before touching anything, data the target cannot hold (keys outside database 0 for a cluster);
 * 2. builds the new topology (the wrapped handler);
 * 3. pauses writes on the old masters (CLIENT PAUSE WRITE: writes wait, reads go on), copies every key
 *    with its expiry (DUMP, PTTL, RESTORE … REPLACE ABSTTL) into the new topology, through cluster routing
 *    when the target is a cluster;
 * 4. stops the old nodes and removes their directories.
 * A crash at any point is finished by the next call: the old nodes are still there, the copy runs again
 * (RESTORE REPLACE makes it idempotent), then they stop. See docs/cluster.md for what clients see.
 */
import { readdir, rm } from 'node:fs/promises';
import { Cluster, type Redis } from 'ioredis';
import { PermanentDriverError } from '../driver.ts';
import { type LocalSpec } from './local-spec.ts';
import { ADMIN_USER } from './acl-rules.ts';
import { isClusterEnabled } from './cluster-nodes.ts';
import { inspectNode } from './inspect-node.ts';
import { instanceDir, nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { nodeCgroupRef, type LocalContext } from './local-context.ts';
import { parseInfo } from './node-state.ts';
import { stopNode } from './redis-node.ts';
import type { TopologyHandler } from './topology-handler.ts';
import { tlsPortOf } from './topology-handler.ts';
import { clientTlsOptions } from './tls-material.ts';

/** Writes on the old masters wait at most this long; the copy re-pauses before every batch. */
const PAUSE_MS = 10_000;
const SCAN_COUNT = 1_000;

interface OldNode {
  port: number;
  client: Redis;
  master: boolean;
  /** Databases holding keys, from INFO keyspace (`db0` → 0). */
  databases: number[];
}

/** Running nodes of this instance outside the spec whose kind differs from the spec's topology. */
async function findOldNodes(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, plannedPorts: Set<number>, signal: AbortSignal): Promise<OldNode[]> {
  const dir = instanceDir(ctx.dataDir, spec.id);
  const ports = (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => !plannedPorts.has(p));
  const wantCluster = spec.topology === 'native-cluster';
  const found: OldNode[] = [];
  for (const port of ports) {
    // A node that does not answer fails the step (retried): skipping it would let the new topology's
    // cleanup treat an old node holding data as gone.
    const probe = await inspectNode(ctx, nodePaths(ctx.dataDir, spec.id, port), port, secrets, signal);
    if (probe.kind !== 'ours') continue;
    if ((await isClusterEnabled(probe.client)) === wantCluster) continue; // same kind: the topology's own business
    const keyspace = parseInfo(String(await probe.client.call('INFO', 'keyspace')));
    const databases = [...keyspace.keys()].filter((k) => /^db\d+$/.test(k)).map((k) => Number(k.slice(2)));
    found.push({ port, client: probe.client, master: probe.state.role === 'master', databases });
  }
  return found;
}

/** Where copied keys go: the new master, or the new cluster through slot routing. */
interface Target {
  restore(key: Buffer, absTtl: number, payload: Buffer): Promise<unknown>;
  close(): void;
}

async function openTarget(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials): Promise<Target> {
  if (spec.topology === 'master-slave') {
    const client = await ctx.pool.get(spec.shards[0]!.master, secrets);
    return {
      restore: (key, ttl, payload) => client.restore(key, ttl, payload, 'REPLACE', 'ABSTTL'),
      close: () => undefined,
    };
  }
  // Through the nodes' TLS ports, with the instance's certificate: over TLS the cluster names its TLS
  // ports in redirections, so the admin secret only ever goes to peers that proved they are this instance.
  const tls = await clientTlsOptions(secrets.tls, spec.id);
  const cluster = new Cluster([{ host: ctx.host, port: tlsPortOf(spec, spec.shards[0]!.master) }], {
    redisOptions: { username: ADMIN_USER, password: secrets.adminPassword, connectionName: 'jcs-control-plane', tls },
    enableAutoPipelining: true,
    slotsRefreshTimeout: 2_000,
  });
  return {
    restore: (key, ttl, payload) => cluster.restore(key, ttl, payload, 'REPLACE', 'ABSTTL'),
    close: () => cluster.disconnect(),
  };
}

/**
 * Copies every key of database 0 of `source` with its expiry; returns the number of keys copied. `progress`
 * counts the keys copied as they are written (Driver.changeProgress).
 */
async function copyKeys(source: Redis, target: Target, signal: AbortSignal, progress: { done: number }): Promise<number> {
  let cursor = '0';
  let copied = 0;
  const inFlight: Array<Promise<unknown>> = [];
  do {
    signal.throwIfAborted();
    await source.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    const [next, keys] = (await source.scanBuffer(cursor, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
    cursor = next.toString();
    if (keys.length === 0) continue;
    const p = source.pipeline();
    for (const key of keys) p.dumpBuffer(key).pttl(key);
    const replies = (await p.exec()) ?? [];
    const now = Date.now();
    const writes: Array<Promise<unknown>> = [];
    keys.forEach((key, i) => {
      const [dumpErr, payload] = replies[2 * i] ?? [null, null];
      const [ttlErr, pttl] = replies[2 * i + 1] ?? [null, -2];
      if (dumpErr) throw dumpErr;
      if (ttlErr) throw ttlErr;
      if (payload === null || pttl === -2) return; // expired or deleted since SCAN saw it
      // ABSTTL: the deadline stays what it was, however long the copy takes. 0 means no expiry.
      writes.push(target.restore(key, (pttl as number) < 0 ? 0 : now + (pttl as number), payload as Buffer));
    });
    // The next batch is read while this one is written; at most a few batches are in flight.
    const n = writes.length;
    inFlight.push(Promise.all(writes).then(() => (progress.done += n)));
    if (inFlight.length >= 4) await inFlight.shift();
    copied += writes.length;
  } while (cursor !== '0');
  await Promise.all(inFlight);
  return copied;
}

/** Wraps the target topology's handler with the copy from the instance's old topology. */
export function withTypeChange(inner: TopologyHandler): TopologyHandler {
  return {
    plan: inner.plan,
    observe: inner.observe,
    async ensurePresent(ctx, spec, secrets, signal) {
      const planned = new Set(inner.plan(spec).map((n) => n.port));
      const old = await findOldNodes(ctx, spec, secrets, planned, signal);
      if (old.length === 0) return inner.ensurePresent(ctx, spec, secrets, signal);
      const sources = old.filter((n) => n.master);
      if (spec.topology === 'native-cluster') {
        const other = sources.flatMap((n) => n.databases).filter((db) => db !== 0);
        if (other.length > 0) {
          throw new PermanentDriverError(
            `instance ${spec.id} has keys in database ${other[0]}; a cluster has database 0 only, so the type change is refused`,
          );
        }
      }
      await inner.ensurePresent(ctx, spec, secrets, signal);
      const target = await openTarget(ctx, spec, secrets);
      const started = Date.now();
      let copied = 0;
      // The keys to copy: what the old masters hold now (keys written meanwhile wait, paused, for the copy).
      const sizes = await Promise.all(sources.map(async (s) => Number(await s.client.call('DBSIZE'))));
      const progress = { done: 0, total: sizes.reduce((a, b) => a + b, 0), unit: 'keys' as const };
      ctx.progress.set(spec.id, progress);
      try {
        // Old masters are separate processes with disjoint keys: read them all at once.
        const counts = await Promise.all(sources.map((source) => copyKeys(source.client, target, signal, progress)));
        copied = counts.reduce((a, b) => a + b, 0);
      } finally {
        target.close();
      }
      ctx.logger.info({ instanceId: spec.id, keys: copied, ms: Date.now() - started, from: sources.map((s) => s.port) }, 'type change: keys copied');
      await Promise.all(
        old.map(async (n) => {
          const paths = nodePaths(ctx.dataDir, spec.id, n.port);
          const cgroup = nodeCgroupRef(ctx, spec.id, n.port);
          await stopNode({ paths, host: ctx.bindHost, port: n.port, admin: n.client, logger: ctx.logger, signal, ...(cgroup ? { cgroup } : {}) });
          ctx.pool.drop(n.port);
          await rm(paths.dir, { recursive: true, force: true });
        }),
      );
      ctx.logger.info({ instanceId: spec.id, ports: old.map((n) => n.port) }, 'type change: old nodes stopped');
    },
  };
}
