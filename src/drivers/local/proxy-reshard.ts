/**
 * Online change of a proxy cluster's shard count. twemproxy's ketama ring names its servers `s<shard>`, so
 * shards that stay keep their points: growing moves keys only from the old shards to the new ones,
 * shrinking only from the removed shards to those that stay (sources and destinations never overlap).
 *
 * Steps, each recorded in `<instance dir>/reshard.json` before it starts, so a control plane killed at any
 * point resumes safely:
 * 1. `copy`: keyspace notifications on the sources name every key written from now on; every key that
 *    moves is copied to its new owner (SCAN, DUMP + PTTL, RESTORE … REPLACE ABSTTL) while the proxies still
 *    serve the old ring. Then writes on the sources are paused (`CLIENT PAUSE WRITE`: they wait, reads go
 *    on) and the keys written meanwhile are copied again (or deleted at the new owner).
 * 2. `switching`: every proxy is stopped (clients reconnect), all come back with the new ring, and the
 *    sources are unpaused. The longest write pause is this step plus the second copy.
 * 3. `cleanup`: shards that stay drop the keys they gave away; the removed shards' nodes stop.
 * Resuming `copy` starts it over: no proxy serves the new ring yet, so the new owners hold nothing newer
 * than the sources. Resuming `switching` with no proxy on the new ring yet copies everything again under a
 * new pause (writes may have reached the sources after the old pause expired); once any proxy serves the
 * new ring, every old one was stopped before it started, so the sources took no write since the last copy.
 */
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ADMIN_USER } from './acl-rules.ts';
import { instanceDir, nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import { KetamaRing } from './ketama-ring.ts';
import { nodeCgroup, nodeSettings, type LocalContext } from './local-context.ts';
import type { LocalSpec } from './local-spec.ts';
import { proxyDirPorts, proxyPaths } from './nutcracker.ts';
import { isSocketOpen, startNode, waitUntilLoaded } from './redis-node.ts';
import { nodeDirPorts, removeNode } from './remove-node.ts';
import { tlsPortOf } from './topology-handler.ts';

/** Writes on the sources wait at most this long if the control plane dies mid-switch (then the redo above applies). */
const PAUSE_MS = 30_000;
const SCAN_COUNT = 1_000;
const KEYSPACE = Buffer.from('__keyspace@0__:');

export interface ReshardMarker {
  /** Each old shard's master port, in shard order. */
  from: number[];
  /** Each new shard's master port, in shard order. */
  to: number[];
  phase: 'copy' | 'switching' | 'cleanup';
}

export const reshardMarkerPath = (ctx: LocalContext, id: string): string => join(instanceDir(ctx.dataDir, id), 'reshard.json');
const markerPath = reshardMarkerPath;

export async function readMarker(ctx: LocalContext, id: string): Promise<ReshardMarker | null> {
  const text = await readFile(markerPath(ctx, id), 'utf8').catch(() => null);
  return text === null ? null : (JSON.parse(text) as ReshardMarker);
}

export async function writeMarker(ctx: LocalContext, id: string, m: ReshardMarker): Promise<void> {
  const file = markerPath(ctx, id);
  await writeFile(`${file}.tmp`, JSON.stringify(m), { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** The master ports of the ring the proxies were last started with (any proxy's), or null before the first start. */
export async function servedRing(ctx: LocalContext, id: string): Promise<number[] | null> {
  for (const port of await proxyDirPorts(ctx.dataDir, id)) {
    const text = await readFile(proxyPaths(ctx.dataDir, id, port).applied, 'utf8').catch(() => null);
    if (text !== null) return ringOf(text);
  }
  return null;
}

/** The master ports a proxy conf's tenant pool lists, in shard order. */
export function ringOf(confText: string): number[] {
  const tenant = confText.slice(0, confText.indexOf('\ncontrol:'));
  return [...tenant.matchAll(/\/(\d+)\/redis\.sock:1 s\d+$/gm)].map((m) => Number(m[1]));
}

interface Source {
  index: number;
  port: number;
  client: Redis;
  /** Keys written since notifications started that move (latin1: byte-exact). */
  dirty: Set<string>;
  subscriber: Redis | null;
  /** Where the copy (then the cleanup) goes on; null once it went through. */
  cursor: string | null;
}

/**
 * A reshard in progress in this process: the sources' subscriptions and how far the copy got. A large
 * copy spans several calls (each ends within a budget and answers "progressing"); a new process starts
 * the copy over, which is safe (see above).
 */
export interface ReshardSession {
  key: string;
  sources: Source[];
  watching: boolean;
  keysMoved: number;
  /** How long writes on the givers waited in the switch, ms (once it happened). */
  pauseMs: number;
  startedMs: number;
  steps: Record<string, number>;
}

/** What reshard needs from the topology handler: proxies of the new ring, started; old ones, stopped. */
export interface ProxySwitch {
  /** Stops every proxy that does not run the new ring's conf; true when one does (the switch began). */
  stopOldProxies(): Promise<boolean>;
  /** Starts every proxy of the spec with the new ring. */
  startProxies(): Promise<void>;
}

export type ReshardResult = { done: true; keysMoved: number; pauseMs: number } | { done: false; progressing: string };

/** How long one call copies before it answers "progressing" (the driver's step timeout is 30 s). */
const BUDGET_MS = 12_000;

function endSession(ctx: LocalContext, id: string): void {
  const session = ctx.proxyReshards.get(id);
  for (const s of session?.sources ?? []) s.subscriber?.disconnect();
  ctx.proxyReshards.delete(id);
}

/**
 * A removed shard's master that died mid-reshard (SIGKILL) is started again from its own files: the
 * caller's repair (master-slave.ts over the spec's shards) does not know the removed shards, and the
 * health loop leaves an instance alone while its resize is pending, so before this the reshard failed on
 * "cannot reach node … ENOENT redis.sock" until the resize gave up. Its AOF holds every write it
 * acknowledged (Redis writes the AOF before it answers; a SIGKILL keeps what the kernel has).
 */
async function restartRemovedSource(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, port: number, signal: AbortSignal): Promise<void> {
  if (spec.shards.some((s) => s.master === port)) return;
  const paths = nodePaths(ctx.dataDir, spec.id, port);
  if ((await isSocketOpen(paths.socket)) || !(await stat(paths.conf).catch(() => null))) return;
  const cgroup = nodeCgroup(ctx, spec.id, port, nodeSettings(ctx, spec).maxmemoryBytes);
  await startNode({ redisServer: ctx.redisServer, paths, host: ctx.bindHost, port, logger: ctx.logger, signal, timeoutMs: 60_000, ...(cgroup ? { cgroup } : {}) });
  ctx.pool.drop(port);
  await waitUntilLoaded(await ctx.pool.get(port, secrets), port, signal, 600_000);
  ctx.logger.warn({ instanceId: spec.id, port }, 'a removed shard\'s master was down mid-reshard; started again from its own files');
}

export async function reshard(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: ReshardMarker, proxies: ProxySwitch, signal: AbortSignal): Promise<ReshardResult> {
  const migrate: MigrateTarget = { host: ctx.host, tlsPorts: marker.to.map((p) => tlsPortOf(spec, p)), adminPassword: secrets.adminPassword };
  const newRing = new KetamaRing(marker.to.length);
  const moves = (index: number, key: Buffer): boolean => newRing.shardOf(key) !== index;
  const key = JSON.stringify([marker.from, marker.to]);
  let session = ctx.proxyReshards.get(spec.id);
  if (session && session.key !== key) endSession(ctx, spec.id);
  session = ctx.proxyReshards.get(spec.id);
  if (!session) {
    // Growing, every old shard gives keys to the new ones; shrinking, only the removed shards give. The
    // givers alone are paused: a shard that receives keys must take our RESTOREs.
    const givers = marker.from.map((port, index) => ({ port, index })).filter(({ index }) => marker.to.length > marker.from.length || index >= marker.to.length);
    session = { key, sources: givers.map(({ port, index }) => ({ index, port, client: null as unknown as Redis, dirty: new Set<string>(), subscriber: null, cursor: '0' })), watching: false, keysMoved: 0, pauseMs: 0, startedMs: Date.now(), steps: {} };
    ctx.proxyReshards.set(spec.id, session);
  }
  const { sources, steps } = session;
  const started = session.startedMs;
  const step = (name: string): void => void (steps[name] = Date.now() - started);
  const deadline = Date.now() + BUDGET_MS;
  try {
    for (const s of sources) {
      await restartRemovedSource(ctx, spec, secrets, s.port, signal);
      s.client = await ctx.pool.get(s.port, secrets);
    }
    const destinations = await Promise.all(marker.to.map((port) => ctx.pool.get(port, secrets)));
    if (marker.phase === 'copy') {
      if (!session.watching) {
        await Promise.all(sources.map((s) => watchWrites(ctx, s, secrets, moves)));
        session.watching = true;
        step('watching');
      }
      const counts = await Promise.all(sources.map((s) => copyAll(s, destinations, newRing, moves, signal, migrate, deadline)));
      session.keysMoved += counts.reduce((a, b) => a + b, 0);
      if (sources.some((s) => s.cursor !== null)) return { done: false, progressing: `copying keys to their new shards: ${session.keysMoved} so far` };
      step('copied');
      const pausedAt = Date.now();
      await pauseAll(sources);
      // A PING on each subscriber is answered after every notification queued before the pause.
      await Promise.all(sources.map((s) => s.subscriber!.ping()));
      const dirty = await Promise.all(sources.map((s) => copyKeys(s.client, [...s.dirty].map((k) => Buffer.from(k, 'latin1')), destinations, newRing)));
      step('recopied');
      marker = { ...marker, phase: 'switching' };
      await writeMarker(ctx, spec.id, marker);
      await switchRing(sources, proxies, destinations, newRing, moves, signal, false);
      step('switched');
      session.pauseMs = Date.now() - pausedAt;
      steps.rewritten = dirty.reduce((a, b) => a + b, 0);
    } else if (marker.phase === 'switching') {
      const pausedAt = Date.now();
      await switchRing(sources, proxies, destinations, newRing, moves, signal, true);
      session.pauseMs = Date.now() - pausedAt;
    }
    if (marker.phase !== 'cleanup') {
      marker = { ...marker, phase: 'cleanup' };
      await writeMarker(ctx, spec.id, marker);
      for (const s of sources) s.cursor = '0';
    }
    if (!(await cleanup(ctx, spec, secrets, marker, sources, moves, signal, deadline))) {
      return { done: false, progressing: 'dropping moved keys from the shards that gave them' };
    }
    step('cleaned');
    await rm(markerPath(ctx, spec.id), { force: true });
    ctx.logger.info({ instanceId: spec.id, from: marker.from.length, to: marker.to.length, keys: session.keysMoved, pauseMs: session.pauseMs, ms: Date.now() - started, steps }, 'proxy cluster resharded');
    endSession(ctx, spec.id);
    return { done: true, keysMoved: session.keysMoved, pauseMs: session.pauseMs };
  } catch (err) {
    // Started over by the next call: safe in every phase (see above).
    endSession(ctx, spec.id);
    throw err;
  }
}

async function switchRing(sources: Source[], proxies: ProxySwitch, destinations: Redis[], ring: KetamaRing, moves: (i: number, k: Buffer) => boolean, signal: AbortSignal, resumed: boolean): Promise<void> {
  const begun = await proxies.stopOldProxies();
  if (resumed && !begun) {
    // No proxy serves the new ring yet: the sources may have taken writes after the old pause expired.
    await pauseAll(sources);
    await Promise.all(sources.map((s) => copyAll(s, destinations, ring, moves, signal, null)));
  } else if (resumed) {
    await pauseAll(sources); // harmless: nothing reaches the sources through a proxy any more
  }
  await proxies.startProxies();
  await Promise.all(sources.map((s) => s.client.call('CLIENT', 'UNPAUSE')));
}

async function pauseAll(sources: Source[]): Promise<void> {
  await Promise.all(sources.map((s) => s.client.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE')));
}

/** Subscribes to the source's keyspace events (as the admin user, over its socket) and records moving keys. */
async function watchWrites(ctx: LocalContext, s: Source, secrets: InstanceCredentials, moves: (i: number, k: Buffer) => boolean): Promise<void> {
  const port = s.port;
  await s.client.call('CONFIG', 'SET', 'notify-keyspace-events', 'KA');
  const sub = new Redis({ path: nodePaths(ctx.dataDir, secrets.instanceId, port).socket, username: ADMIN_USER, password: secrets.adminPassword, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  sub.on('error', () => undefined);
  s.subscriber = sub;
  await sub.connect();
  sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => {
    const key = channel.subarray(KEYSPACE.length);
    if (moves(s.index, key)) s.dirty.add(key.toString('latin1'));
  });
  await sub.psubscribe('__keyspace@0__:*');
}

/** Where the sources reach each new owner, for MIGRATE: its TLS port, with the admin's credentials. */
export interface MigrateTarget {
  host: string;
  tlsPorts: number[];
  adminPassword: string;
}

/** MIGRATE's own I/O timeout, ms (below the admin connection's command timeout). */
const MIGRATE_TIMEOUT_MS = 2_000;
const KEYS_PER_MIGRATE = 200;

/**
 * Copies every key of the source that moves; returns how many. Unpaused, the source itself sends them
 * (`MIGRATE … COPY REPLACE` over the nodes' TLS link: the payload never passes through the control plane);
 * paused, MIGRATE would wait (it is a write command), so the control plane copies with DUMP and RESTORE.
 */
async function copyAll(s: Source, destinations: Redis[], ring: KetamaRing, moves: (i: number, k: Buffer) => boolean, signal: AbortSignal, migrate: MigrateTarget | null, deadline = Infinity): Promise<number> {
  let copied = 0;
  if (s.cursor === null) s.cursor = '0';
  do {
    signal.throwIfAborted();
    if (Date.now() > deadline) return copied;
    const [next, keys] = (await s.client.scanBuffer(s.cursor, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
    s.cursor = next.toString() === '0' ? null : next.toString();
    const moving = keys.filter((k) => moves(s.index, k));
    if (moving.length === 0) continue;
    if (migrate === null) {
      copied += await copyKeys(s.client, moving, destinations, ring);
      continue;
    }
    const byOwner = new Map<number, Buffer[]>();
    for (const k of moving) byOwner.set(ring.shardOf(k), [...(byOwner.get(ring.shardOf(k)) ?? []), k]);
    const p = s.client.pipeline();
    for (const [owner, ks] of byOwner) {
      for (let i = 0; i < ks.length; i += KEYS_PER_MIGRATE) {
        p.call('MIGRATE', migrate.host, String(migrate.tlsPorts[owner]), '', '0', String(MIGRATE_TIMEOUT_MS), 'COPY', 'REPLACE', 'AUTH2', ADMIN_USER, migrate.adminPassword, 'KEYS', ...ks.slice(i, i + KEYS_PER_MIGRATE));
      }
    }
    for (const [err] of (await p.exec()) ?? []) if (err) throw err;
    copied += moving.length;
  } while (s.cursor !== null);
  return copied;
}

/** Copies `keys` from `source` to their owners under `ring`, with their expiry; a key gone from the source goes at the owner too. */
async function copyKeys(source: Redis, keys: Buffer[], destinations: Redis[], ring: KetamaRing): Promise<number> {
  if (keys.length === 0) return 0;
  const p = source.pipeline();
  for (const key of keys) p.dumpBuffer(key).pttl(key);
  const replies = (await p.exec()) ?? [];
  const now = Date.now();
  const byOwner = new Map<number, ReturnType<Redis['pipeline']>>();
  keys.forEach((key, i) => {
    const [dumpErr, payload] = replies[2 * i] ?? [null, null];
    const [ttlErr, pttl] = replies[2 * i + 1] ?? [null, -2];
    if (dumpErr) throw dumpErr;
    if (ttlErr) throw ttlErr;
    const owner = ring.shardOf(key);
    const q = byOwner.get(owner) ?? destinations[owner]!.pipeline();
    byOwner.set(owner, q);
    if (payload === null || pttl === -2) q.unlink(key);
    // ABSTTL: the deadline stays what it was however long the copy takes; 0 means none.
    else q.restore(key, (pttl as number) < 0 ? 0 : now + (pttl as number), payload as Buffer, 'REPLACE', 'ABSTTL');
  });
  const results = await Promise.all([...byOwner.values()].map((q) => q.exec()));
  for (const r of results) for (const [err] of r ?? []) if (err) throw err;
  return keys.length;
}

/**
 * Shards that stay drop what they gave away (within the budget: false when not through yet); then the
 * removed shards' nodes stop and their files go.
 */
async function cleanup(ctx: LocalContext, spec: LocalSpec, secrets: InstanceCredentials, marker: ReshardMarker, sources: Source[], moves: (i: number, k: Buffer) => boolean, signal: AbortSignal, deadline: number): Promise<boolean> {
  const tenantNotify = spec.redisConfig?.['notify-keyspace-events'] ?? '';
  const kept = sources.filter((s) => s.index < marker.to.length);
  await Promise.all(
    kept.map(async (s) => {
      while (s.cursor !== null && Date.now() < deadline) {
        signal.throwIfAborted();
        const [next, keys] = (await s.client.scanBuffer(s.cursor, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
        s.cursor = next.toString() === '0' ? null : next.toString();
        const gone = keys.filter((k) => moves(s.index, k));
        if (gone.length > 0) await s.client.unlink(...gone);
      }
    }),
  );
  if (kept.some((s) => s.cursor !== null)) return false;
  await Promise.all(kept.map((s) => s.client.call('CONFIG', 'SET', 'notify-keyspace-events', tenantNotify)));
  const keep = new Set(spec.shards.flatMap((s) => [s.master, s.replica]));
  const removed = (await nodeDirPorts(ctx, spec.id)).filter((p) => !keep.has(p));
  await Promise.all(removed.map((port) => removeNode(ctx, spec.id, secrets, port, signal)));
  if (removed.length > 0) ctx.logger.info({ instanceId: spec.id, ports: removed }, 'nodes of removed shards stopped');
  return true;
}
