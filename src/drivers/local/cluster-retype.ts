/**
 * Type change between master-slave, native-cluster and proxy cluster (`cluster`), as a wrapper around the
 * target topology's handler. The old topology is the instance's running nodes outside the spec (and a
 * proxy cluster's proxies), found once and recorded in `<instance dir>/retype.json` before anything is
 * built, so a control plane killed at any point resumes the same change. ensurePresent then
 * 1. refuses, before touching anything, data the target cannot hold (keys outside database 0);
 * 2. builds the new topology (the wrapped handler) on new ports;
 * 3. copies every key with its expiry while the old topology serves, then pauses writes on the old
 *    masters and copies again what changed meanwhile (retype-copy.ts);
 * 4. records the cut-over, stops the old proxies and nodes and removes their directories. The engine then
 *    publishes the new endpoint.
 * Resuming phase `copy` starts the copy over (the new topology is emptied first: no client writes there
 * before the change is done); resuming `cutover` only stops what is left (the old masters still hold
 * writes, paused). A spec back at the old type while the copy was not through (a refused change) drops
 * the new nodes and leaves the old ones as they were. See docs/cluster.md for what clients see.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { PermanentDriverError, type InstanceTopology } from '../driver.ts';
import { type LocalSpec } from './local-spec.ts';
import { isClusterEnabled } from './cluster-nodes.ts';
import { inspectNode } from './inspect-node.ts';
import { instanceDir, nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import type { LocalContext } from './local-context.ts';
import { parseInfo } from './node-state.ts';
import { proxyDirPorts, proxyPaths, stopProxy } from './nutcracker.ts';
import { nodeDirPorts, removeNode } from './remove-node.ts';
import { copyWhileServing, pauseWrites } from './retype-copy.ts';
import { openRetypeTarget } from './retype-target.ts';
import type { TopologyHandler } from './topology-handler.ts';

export interface RetypeMarker {
  from: InstanceTopology;
  /** Client ports of every node of the old topology. */
  old: number[];
  phase: 'copy' | 'cutover';
}

const markerPath = (ctx: LocalContext, id: string): string => join(instanceDir(ctx.dataDir, id), 'retype.json');

async function readMarker(ctx: LocalContext, id: string): Promise<RetypeMarker | null> {
  const text = await readFile(markerPath(ctx, id), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as RetypeMarker);
}

async function writeMarker(ctx: LocalContext, id: string, m: RetypeMarker): Promise<void> {
  const file = markerPath(ctx, id);
  await writeFile(`${file}.tmp`, JSON.stringify(m), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

interface OldNode {
  port: number;
  client: Redis;
  master: boolean;
  /** For a replica: its master's TLS port, and whether it ever synced from it. */
  masterTls: number | null;
  synced: boolean;
  /** Databases holding keys, from INFO keyspace (`db0` → 0). */
  databases: number[];
}

/** The old node on `port` when it runs (a node that does not answer fails the step: it may hold data). */
async function oldNode(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, port: number, signal: AbortSignal): Promise<OldNode | null> {
  const probe = await inspectNode(ctx, nodePaths(ctx.dataDir, spec.id, port), port, secrets, signal);
  if (probe.kind !== 'ours') return null;
  const keyspace = parseInfo(String(await probe.client.call('INFO', 'keyspace')));
  const databases = [...keyspace.keys()].filter((k) => /^db\d+$/.test(k)).map((k) => Number(k.slice(2)));
  const st = probe.state;
  return { port, client: probe.client, master: st.role === 'master', masterTls: st.masterPort, synced: st.linkUp || st.linkDownSinceSeconds >= 0, databases };
}

/**
 * A type change that no marker records yet: the running nodes outside the spec that belong to another
 * topology, or null. A proxy cluster's own nodes outside its spec are a change of shard count
 * (proxy-reshard.ts); a native cluster's or master-slave's of the same kind are their handler's business.
 */
async function detect(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, planned: Set<number>, signal: AbortSignal): Promise<RetypeMarker | null> {
  const hadProxies = (await proxyDirPorts(ctx.dataDir, spec.id)).length > 0;
  if (spec.topology === 'cluster' && hadProxies) return null;
  const old: number[] = [];
  let from: InstanceTopology | null = hadProxies ? 'cluster' : null;
  for (const port of (await nodeDirPorts(ctx, spec.id)).filter((p) => !planned.has(p))) {
    const node = await oldNode(ctx, spec, secrets, port, signal);
    if (!node) continue;
    const kind: InstanceTopology = (await isClusterEnabled(node.client)) ? 'native-cluster' : 'master-slave';
    if (kind === spec.topology && !hadProxies) continue;
    from ??= kind;
    old.push(port);
  }
  return old.length === 0 || from === null ? null : { from, old, phase: 'copy' };
}

/** Stops the nodes on `ports` (and, with `proxies`, every proxy of the instance) and removes their directories. */
async function stopAll(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, ports: number[], proxies: boolean, signal: AbortSignal): Promise<void> {
  if (proxies) {
    // Clients first: a proxy gone, nothing reaches the old shards any more.
    for (const port of await proxyDirPorts(ctx.dataDir, spec.id)) {
      const paths = proxyPaths(ctx.dataDir, spec.id, port);
      await stopProxy(paths, ctx.bindHost, port, signal);
      await rm(paths.dir, { recursive: true, force: true });
    }
  }
  await Promise.all(ports.map((port) => removeNode(ctx, spec.id, secrets, port, signal)));
}

/** The spec is back at the old type before the copy was through: the new nodes go, the old ones write again. */
async function abandon(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: RetypeMarker, planned: Set<number>, signal: AbortSignal): Promise<void> {
  const oldPorts = new Set(marker.old);
  const added = (await nodeDirPorts(ctx, spec.id)).filter((p) => !oldPorts.has(p) && !planned.has(p));
  await stopAll(ctx, spec, secrets, added, marker.from !== 'cluster', signal);
  const tenantNotify = spec.redisConfig?.['notify-keyspace-events'] ?? '';
  for (const port of marker.old) {
    const node = await oldNode(ctx, spec, secrets, port, signal);
    if (!node) continue;
    await node.client.call('CLIENT', 'UNPAUSE');
    await node.client.call('CONFIG', 'SET', 'notify-keyspace-events', tenantNotify);
  }
  await rm(markerPath(ctx, spec.id), { force: true });
  ctx.logger.info({ instanceId: spec.id, ports: added }, 'type change abandoned: new nodes stopped');
}

/**
 * Where the keys are read: every running old master, and a replica whose master is gone (killed during the
 * change: nothing restarts the old topology's nodes any more, and the replica holds the shard's data).
 */
async function sourcesOf(nodes: OldNode[]): Promise<OldNode[]> {
  const masters = nodes.filter((n) => n.master);
  const masterTls = new Set(await Promise.all(masters.map(async (m) => Number(((await m.client.call('CONFIG', 'GET', 'tls-port')) as string[])[1]))));
  return [...masters, ...nodes.filter((n) => !n.master && n.synced && n.masterTls !== null && !masterTls.has(n.masterTls))];
}

async function change(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: RetypeMarker, inner: TopologyHandler, signal: AbortSignal): Promise<void> {
  const nodes = (await Promise.all(marker.old.map((p) => oldNode(ctx, spec, secrets, p, signal)))).filter((n) => n !== null);
  const sources = await sourcesOf(nodes);
  if (marker.phase === 'copy') {
    const other = sources.flatMap((n) => n.databases).filter((db) => db !== 0);
    if (other.length > 0) {
      await rm(markerPath(ctx, spec.id), { force: true });
      throw new PermanentDriverError(`instance ${spec.id} has keys in database ${other[0]}; a ${spec.topology} instance has database 0 only here, so the type change is refused`);
    }
    await inner.ensurePresent(ctx, spec, secrets, signal);
    const target = await openRetypeTarget(ctx, spec, secrets);
    const sizes = await Promise.all(sources.map(async (s) => Number(await s.client.call('DBSIZE'))));
    const progress = { done: 0, total: sizes.reduce((a, b) => a + b, 0), unit: 'keys' as const };
    ctx.progress.set(spec.id, progress);
    const started = Date.now();
    try {
      const r = await copyWhileServing(ctx, secrets, sources, target, signal, progress);
      await writeMarker(ctx, spec.id, { ...marker, phase: 'cutover' });
      await stopAll(ctx, spec, secrets, marker.old, marker.from === 'cluster', signal);
      ctx.logger.info({ instanceId: spec.id, from: marker.from, to: spec.topology, keys: r.copied, rewritten: r.rewritten, pauseMs: Date.now() - r.pausedAt, ms: Date.now() - started }, 'type change: keys copied, old nodes stopped');
    } finally {
      target.close();
    }
  } else {
    // The old masters hold writes since the cut-over began (see CUTOVER_PAUSE_MS): renew, then stop.
    await pauseWrites(sources);
    await stopAll(ctx, spec, secrets, marker.old, marker.from === 'cluster', signal);
    ctx.logger.info({ instanceId: spec.id, ports: marker.old }, 'type change: cut-over finished after a restart');
  }
  await rm(markerPath(ctx, spec.id), { force: true });
}

/** Wraps the target topology's handler with the copy from the instance's old topology. */
export function withTypeChange(inner: TopologyHandler): TopologyHandler {
  return {
    plan: inner.plan,
    observe: inner.observe,
    async ensurePresent(ctx, spec, secrets, signal) {
      const planned = new Set(inner.plan(spec).map((n) => n.port));
      let marker = await readMarker(ctx, spec.id);
      if (marker && marker.from === spec.topology) {
        if (marker.phase === 'cutover') throw new Error(`instance ${spec.id}: the type change from ${marker.from} is past its copy and is finished first`);
        await abandon(ctx, spec, secrets, marker, planned, signal);
        marker = null;
      } else if (!marker) {
        marker = await detect(ctx, spec, secrets, planned, signal);
        if (marker) await writeMarker(ctx, spec.id, marker);
      }
      if (!marker) return inner.ensurePresent(ctx, spec, secrets, signal);
      await change(ctx, spec, secrets, marker, inner, signal);
      return inner.ensurePresent(ctx, spec, secrets, signal);
    },
  };
}
