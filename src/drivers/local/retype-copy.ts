/**
 * The data half of a type change: every key of the old masters (database 0) goes to the new topology with
 * its expiry while the old topology still serves, then writes on the old masters wait briefly while what
 * changed meanwhile is copied again. Keyspace notifications on the old masters name every key written or
 * deleted from the moment the copy starts, so the second pass is small.
 */
import { Redis } from 'ioredis';
import { ADMIN_USER } from './acl-rules.ts';
import { nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';
import type { LocalContext } from './local-context.ts';
import type { RetypeTarget } from './retype-target.ts';

const SCAN_COUNT = 1_000;
/**
 * How long writes on the old masters wait once the cut-over began. Long on purpose: a control plane that
 * dies in the cut-over must find the old masters still holding writes (waiting, never acknowledged) when
 * it comes back, so nothing they acknowledge after the last copy can be lost when they stop.
 */
export const CUTOVER_PAUSE_MS = 300_000;

export interface RetypeSource {
  port: number;
  client: Redis;
}

/** What one copy did: keys copied while serving, keys copied again under the pause, when the pause began. */
export interface CopyResult {
  copied: number;
  rewritten: number;
  pausedAt: number;
}

/** Holds writes on every source (they wait; reads go on). */
export async function pauseWrites(sources: readonly RetypeSource[], ms = CUTOVER_PAUSE_MS): Promise<void> {
  await Promise.all(sources.map((s) => s.client.call('CLIENT', 'PAUSE', String(ms), 'WRITE')));
}

/** Subscribes, as the admin user over the node's own socket, to the source's keyspace events. */
async function watch(ctx: LocalContext, secrets: InstanceCredentials, s: RetypeSource, dirty: Set<string>): Promise<Redis> {
  await s.client.call('CONFIG', 'SET', 'notify-keyspace-events', 'KA');
  const sub = new Redis({ path: nodePaths(ctx.dataDir, secrets.instanceId, s.port).socket, username: ADMIN_USER, password: secrets.adminPassword, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  sub.on('error', () => undefined);
  const prefix = Buffer.byteLength('__keyspace@0__:');
  sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer) => dirty.add(channel.subarray(prefix).toString('latin1')));
  await sub.connect();
  await sub.psubscribe('__keyspace@0__:*');
  return sub;
}

/** Copies `keys` of `source` with their expiry (ABSTTL: the deadline stays what it was); a key gone at the source goes at the target. */
async function copyBatch(source: Redis, keys: Buffer[], target: RetypeTarget): Promise<number> {
  if (keys.length === 0) return 0;
  const p = source.pipeline();
  for (const key of keys) p.dumpBuffer(key).pttl(key);
  const replies = (await p.exec()) ?? [];
  const now = Date.now();
  const writes = keys.map((key, i) => {
    const [dumpErr, payload] = replies[2 * i] ?? [null, null];
    const [ttlErr, pttl] = replies[2 * i + 1] ?? [null, -2];
    if (dumpErr) throw dumpErr;
    if (ttlErr) throw ttlErr;
    if (payload === null || pttl === -2) return target.remove(key);
    return target.restore(key, (pttl as number) < 0 ? 0 : now + (pttl as number), payload as Buffer);
  });
  await Promise.all(writes);
  return keys.length;
}

async function copyAll(source: Redis, target: RetypeTarget, signal: AbortSignal, progress: { done: number }): Promise<number> {
  let cursor = '0';
  let copied = 0;
  const inFlight: Array<Promise<unknown>> = [];
  do {
    signal.throwIfAborted();
    const [next, keys] = (await source.scanBuffer(cursor, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
    cursor = next.toString();
    // The next batch is read while this one is written; at most a few batches are in flight.
    inFlight.push(copyBatch(source, keys, target).then((n) => (progress.done += n)));
    if (inFlight.length >= 4) await inFlight.shift();
    copied += keys.length;
  } while (cursor !== '0');
  await Promise.all(inFlight);
  return copied;
}

/**
 * Copies every key of the sources to `target`, which is emptied first, while the sources take writes; then
 * pauses their writes (CUTOVER_PAUSE_MS) and copies again every key written or deleted since. Returns with
 * the sources paused: the caller stops them (their waiting writes are never acknowledged). A pause left
 * by an earlier, interrupted copy ends once the notifications are on.
 */
export async function copyWhileServing(
  ctx: LocalContext,
  secrets: InstanceCredentials,
  sources: readonly RetypeSource[],
  target: RetypeTarget,
  signal: AbortSignal,
  progress: { done: number; total: number },
): Promise<CopyResult> {
  const dirty = sources.map(() => new Set<string>());
  const subs: Redis[] = [];
  try {
    for (const [i, s] of sources.entries()) subs.push(await watch(ctx, secrets, s, dirty[i]!));
    await Promise.all(sources.map((s) => s.client.call('CLIENT', 'UNPAUSE')));
    await target.flush();
    const counts = await Promise.all(sources.map((s) => copyAll(s.client, target, signal, progress)));
    const pausedAt = Date.now();
    await pauseWrites(sources);
    // A PING on each subscriber is answered after every notification sent before the pause.
    await Promise.all(subs.map((sub) => sub.ping()));
    const again = await Promise.all(sources.map((s, i) => copyBatch(s.client, [...dirty[i]!].map((k) => Buffer.from(k, 'latin1')), target)));
    progress.total = Math.max(progress.total, progress.done);
    return { copied: counts.reduce((a, b) => a + b, 0), rewritten: again.reduce((a, b) => a + b, 0), pausedAt };
  } finally {
    for (const sub of subs) sub.disconnect();
  }
}
