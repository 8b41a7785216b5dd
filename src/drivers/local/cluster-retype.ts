/**
 * Type change between master-slave, native-cluster and proxy cluster (`cluster`), as a wrapper around the
 * target topology's handler. The old topology is the instance's running nodes outside the spec (and a
 * proxy cluster's proxies), found once and recorded in `<instance dir>/retype.json` before anything is
 * built, so a control plane killed at any point resumes the same change. ensurePresent then
 * 1. refuses, before touching anything, data the target cannot hold (keys outside database 0);
 * 2. builds the new topology (the wrapped handler) on new ports;
 * 3. copies every key with its expiry while the old topology serves, in calls of at most
 *    ctx.retypeStepMs each (answering progressing), the SCAN cursors recorded in the marker after each;
 *    detached keyspace watchers (keyspace-watcher.ts) record every key written meanwhile in files, and
 *    those keys are copied as the copy goes;
 * 4. cuts over in a call of its own: writes on the old masters pause, the keys recorded before the pause
 *    are copied again, the cut-over is recorded, the old proxies and nodes stop and their directories go.
 *    The engine then publishes the new endpoint.
 * Resuming phase `copy` goes on from the recorded cursors, unless a watcher died (writes may be
 * unrecorded), the sources changed, a new master restarted or a source ran FLUSHALL, FLUSHDB or SWAPDB (no
 * per-key event for those): then the copy starts over (the new topology
 * is emptied first: no client writes there before the change is done). Resuming `cutover` only stops what
 * is left (the old masters still hold writes, paused). A spec back at the old type while the copy was not
 * through (a refused change) drops the new nodes and leaves the old ones as they were. See docs/cluster.md.
 */
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { PermanentDriverError, type InstanceTopology } from '../driver.ts';
import { type LocalSpec } from './local-spec.ts';
import { isClusterEnabled } from './cluster-nodes.ts';
import { inspectNode } from './inspect-node.ts';
import { instanceDir, nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import type { LocalContext } from './local-context.ts';
import { readInfo } from './node-state.ts';
import { proxyDirPorts, proxyPaths, stopProxy } from './nutcracker.ts';
import { nodeDirPorts, removeNode } from './remove-node.ts';
import { redisCliFor, readWatchFile, startWatcher, stopWatchers, watcherAlive, type WatcherTarget } from './keyspace-watcher.ts';
import { copyKeys, copyScan, keyspaceWideCalls, pauseWithMark, pauseWrites } from './retype-copy.ts';
import { openRetypeTarget, type RetypeTarget } from './retype-target.ts';
import type { HandlerProgress, TopologyHandler } from './topology-handler.ts';

export interface RetypeMarker {
  from: InstanceTopology;
  /** Client ports of every node of the old topology. */
  old: number[];
  phase: 'copy' | 'cutover';
  /** How far the copy got (phase `copy`, once it began): a control plane killed between steps goes on from here. */
  copy?: RetypeCopy;
}

/** The copy's progress, recorded after every step. */
export interface RetypeCopy {
  /**
   * Each source in order: its port, the SCAN cursor to go on from (null: scanned through), the pid of the
   * keyspace watcher recording its writes, how far its watcher's file was copied (bytes), and its count
   * of FLUSHALL, FLUSHDB and SWAPDB calls when the copy began (keyspaceWideCalls; absent in a marker of
   * an older version).
   */
  sources: Array<{ port: number; cursor: string | null; watcher: number; offset: number; flushes?: number }>;
  /** run_id of each new master when the copy began. */
  targets: string[];
  copied: number;
  /** Keys the sources held when the copy began. */
  total: number;
  startedMs: number;
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
  const keyspace = await readInfo(probe.client, 'keyspace');
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
  await endWatchers(ctx, spec.id, marker.old);
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

/** Where the watcher of old node `port` writes, and the socket it reads. */
function watchTargetOf(ctx: LocalContext, id: string, port: number): WatcherTarget {
  const dir = instanceDir(ctx.dataDir, id);
  return { socket: nodePaths(ctx.dataDir, id, port).socket, file: join(dir, `retype-watch-${port}.csv`), cwd: dir };
}

/** Ends the copy's watchers (any on the old nodes, recorded or not) and removes their files. */
async function endWatchers(ctx: LocalContext, id: string, ports: readonly number[]): Promise<void> {
  for (const port of ports) {
    const t = watchTargetOf(ctx, id, port);
    await stopWatchers(t);
    await rm(t.file, { force: true });
  }
}

/** Each new master's run_id: a master restarted since the copy began lost what was copied to it. */
async function targetIds(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials): Promise<string[]> {
  return Promise.all(spec.shards.map(async (s) => (await readInfo(await ctx.pool.get(s.master, secrets), 'server')).get('run_id') ?? ''));
}

/** Why the copy recorded in `copy` cannot go on from its cursors, or null when it can. */
async function whyStartOver(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, copy: RetypeCopy, sources: readonly OldNode[]): Promise<string | null> {
  if (copy.sources.map((s) => s.port).join() !== sources.map((s) => s.port).join()) return 'the old nodes it reads from changed';
  for (const s of copy.sources) {
    if (!(await watcherAlive(s.watcher, watchTargetOf(ctx, spec.id, s.port)))) return `the keyspace watcher of old node ${s.port} stopped: writes made since may be unrecorded`;
  }
  if ((await targetIds(ctx, spec, secrets)).join() !== copy.targets.join()) return 'a master of the new topology restarted';
  return flushedSince(copy, new Map(sources.map((s) => [s.port, s])));
}

/** Why the copy so far may hold keys the sources dropped wholesale (see keyspaceWideCalls), or null. */
async function flushedSince(copy: RetypeCopy, byPort: ReadonlyMap<number, OldNode>): Promise<string | null> {
  for (const s of copy.sources) {
    const node = byPort.get(s.port);
    if (s.flushes === undefined || !node) continue;
    if ((await keyspaceWideCalls(node.client)) !== s.flushes) return `old node ${s.port} ran FLUSHALL, FLUSHDB or SWAPDB during the copy: keys copied before may be gone there`;
  }
  return null;
}

/**
 * Starts the copy (again): watchers on every source first (from then on every write is recorded), then
 * the new topology is emptied (a copy started over must not keep keys deleted at the source meanwhile) and
 * the sources take writes again (a pause left by an interrupted cut-over ends). Recorded in the marker.
 */
async function beginCopy(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: RetypeMarker, sources: readonly OldNode[], target: RetypeTarget, signal: AbortSignal): Promise<RetypeMarker> {
  await endWatchers(ctx, spec.id, marker.old);
  const redisCli = redisCliFor(ctx.redisServer);
  const entries: RetypeCopy['sources'] = [];
  for (const s of sources) {
    await s.client.call('CONFIG', 'SET', 'notify-keyspace-events', 'KA');
    const watcher = await startWatcher(redisCli, watchTargetOf(ctx, spec.id, s.port), secrets.adminPassword, signal);
    entries.push({ port: s.port, cursor: '0', watcher, offset: 0 });
  }
  await Promise.all(sources.map((s) => s.client.call('CLIENT', 'UNPAUSE')));
  await target.flush();
  const sizes = await Promise.all(sources.map(async (s) => Number(await s.client.call('DBSIZE'))));
  // Read before the first key is scanned: a flush from now on is one the copy may have missed.
  await Promise.all(sources.map(async (s, i) => (entries[i]!.flushes = await keyspaceWideCalls(s.client))));
  const copy: RetypeCopy = { sources: entries, targets: await targetIds(ctx, spec, secrets), copied: 0, total: sizes.reduce((a, b) => a + b, 0), startedMs: Date.now() };
  const next = { ...marker, copy };
  await writeMarker(ctx, spec.id, next);
  return next;
}

/** A watcher file's backlog is this small or smaller: the cut-over may begin (its copy is short). */
const CAUGHT_UP_KEYS = 1_000;
/** How long the cut-over waits for its mark in a watcher's file. */
const MARK_WAIT_MS = 10_000;

/**
 * Copies the keys the watchers recorded since their files were last read (at least one read each, more
 * until `deadline`). Returns whether every file was read to its end with at most CAUGHT_UP_KEYS keys left.
 */
async function copyRecorded(ctx: LocalContext, id: string, copy: RetypeCopy, byPort: Map<number, OldNode>, target: RetypeTarget, deadline: number, signal: AbortSignal): Promise<boolean> {
  const caughtUp = await Promise.all(
    copy.sources.map(async (e) => {
      const file = watchTargetOf(ctx, id, e.port).file;
      for (;;) {
        const read = await readWatchFile(file, e.offset, null, 10 * CAUGHT_UP_KEYS);
        await copyKeys(byPort.get(e.port)!.client, read.keys, target, signal);
        e.offset = read.offset;
        if (read.keys.size <= CAUGHT_UP_KEYS) return true;
        if (Date.now() >= deadline) return false;
      }
    }),
  );
  return caughtUp.every(Boolean);
}

/**
 * One step of the copy phase, at most ctx.retypeStepMs of copying: the scan goes on from the recorded
 * cursors, then the keys written meanwhile are copied; both are recorded and the step answers progressing.
 * Once every scan is through, a step copies what the watchers recorded until little is left, then cuts over
 * (a call of its own): writes on the old masters pause, the keys written before the pause are copied, the
 * cut-over is recorded and the old topology stops. Returns null once cut over.
 */
async function copyStep(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: RetypeMarker, sources: OldNode[], signal: AbortSignal): Promise<HandlerProgress | null> {
  const target = await openRetypeTarget(ctx, spec, secrets);
  try {
    const why = marker.copy ? await whyStartOver(ctx, spec, secrets, marker.copy, sources) : null;
    if (why !== null) ctx.logger.warn({ instanceId: spec.id, reason: why }, 'type change: the copy starts over');
    if (!marker.copy || why !== null) marker = await beginCopy(ctx, spec, secrets, marker, sources, target, signal);
    const copy = marker.copy!;
    const byPort = new Map(sources.map((s) => [s.port, s]));
    const progress = { done: copy.copied, total: copy.total, unit: 'keys' as const };
    ctx.progress.set(spec.id, progress);
    const deadline = Date.now() + ctx.retypeStepMs;
    if (copy.sources.some((e) => e.cursor !== null)) {
      const from = copy.copied;
      await Promise.all(copy.sources.map(async (e) => e.cursor !== null && (e.cursor = await copyScan(byPort.get(e.port)!.client, e.cursor, target, deadline, signal, progress))));
      await copyRecorded(ctx, spec.id, copy, byPort, target, deadline, signal);
      copy.copied = progress.done;
      progress.total = Math.max(progress.total, progress.done);
      await writeMarker(ctx, spec.id, marker);
      ctx.logger.info({ instanceId: spec.id, from, copied: copy.copied, total: copy.total, cursors: copy.sources.map((e) => e.cursor) }, 'type change: copy step');
      return { progressing: `type change to ${spec.topology}: ${copy.copied} keys copied of about ${copy.total}` };
    }
    if (!(await copyRecorded(ctx, spec.id, copy, byPort, target, deadline, signal))) {
      await writeMarker(ctx, spec.id, marker);
      return { progressing: `type change to ${spec.topology}: copying the keys written during the copy` };
    }
    const token = randomUUID();
    const pausedAt = Date.now();
    await pauseWithMark(sources, token);
    let rewritten = 0;
    const cut = Promise.all(
      copy.sources.map(async (e) => {
        const t = watchTargetOf(ctx, spec.id, e.port);
        const keys = new Set<string>();
        for (const waitUntil = Date.now() + MARK_WAIT_MS; ; ) {
          const read = await readWatchFile(t.file, e.offset, token);
          for (const k of read.keys) keys.add(k);
          e.offset = read.offset;
          if (read.found) break;
          // A watcher gone now may have missed writes: the next call finds it dead and starts over.
          if (!(await watcherAlive(e.watcher, t)) || Date.now() > waitUntil) throw new Error(`type change: the keyspace watcher of old node ${e.port} did not deliver the cut-over mark`);
          await sleep(2, undefined, { signal });
        }
        rewritten += await copyKeys(byPort.get(e.port)!.client, keys, target, signal);
      }),
    );
    // Failed before the cut-over is recorded: the old topology serves on, writes need not wait for the next try.
    await cut.catch(async (err: unknown) => {
      await Promise.all(sources.map((s) => s.client.call('CLIENT', 'UNPAUSE'))).catch(() => undefined);
      throw err;
    });
    // Writes are held now (a flush is a write): one made since the copy began is the last thing to rule
    // out. Then the old topology serves on and the next call starts the copy over (whyStartOver).
    if ((await flushedSince(copy, byPort)) !== null) {
      await writeMarker(ctx, spec.id, marker);
      await Promise.all(sources.map((s) => s.client.call('CLIENT', 'UNPAUSE')));
      return { progressing: `type change to ${spec.topology}: a database was emptied during the copy; copying again` };
    }
    await writeMarker(ctx, spec.id, { from: marker.from, old: marker.old, phase: 'cutover' });
    await endWatchers(ctx, spec.id, marker.old);
    await stopAll(ctx, spec, secrets, marker.old, marker.from === 'cluster', signal);
    progress.done = progress.total = Math.max(progress.total, progress.done);
    ctx.logger.info({ instanceId: spec.id, from: marker.from, to: spec.topology, keys: copy.copied, rewritten, pauseMs: Date.now() - pausedAt, ms: Date.now() - copy.startedMs }, 'type change: keys copied, old nodes stopped');
    return null;
  } finally {
    target.close();
  }
}

/** The next step of the change `marker` records: progressing while the copy goes on, null once done. */
async function change(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: RetypeMarker, inner: TopologyHandler, signal: AbortSignal): Promise<HandlerProgress | null> {
  const nodes = (await Promise.all(marker.old.map((p) => oldNode(ctx, spec, secrets, p, signal)))).filter((n) => n !== null);
  const sources = await sourcesOf(nodes);
  if (marker.phase === 'copy') {
    const other = sources.flatMap((n) => n.databases).filter((db) => db !== 0);
    if (other.length > 0) {
      // Before the copy began nothing was built; once it began (a tenant wrote to another database since),
      // the marker stays so the refused change's spec, back at the old type, drops the new nodes (abandon).
      if (!marker.copy) await rm(markerPath(ctx, spec.id), { force: true });
      throw new PermanentDriverError(`instance ${spec.id} has keys in database ${other[0]}; a ${spec.topology} instance has database 0 only here, so the type change is refused`);
    }
    // The new topology is built (first call) or repaired (a new master restarted: the copy starts over).
    const built = await inner.ensurePresent(ctx, spec, secrets, signal);
    if (built) return built;
    const step = await copyStep(ctx, spec, secrets, marker, sources, signal);
    if (step) return step;
  } else {
    // The old masters hold writes since the cut-over began (see CUTOVER_PAUSE_MS): renew, then stop.
    await pauseWrites(sources);
    await endWatchers(ctx, spec.id, marker.old);
    await stopAll(ctx, spec, secrets, marker.old, marker.from === 'cluster', signal);
    ctx.logger.info({ instanceId: spec.id, ports: marker.old }, 'type change: cut-over finished after a restart');
  }
  await rm(markerPath(ctx, spec.id), { force: true });
  return null;
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
      const step = await change(ctx, spec, secrets, marker, inner, signal);
      if (step) return step;
      return inner.ensurePresent(ctx, spec, secrets, signal);
    },
  };
}
