/**
 * The data half of a type change: every key of the old masters (database 0) goes to the new topology with
 * its expiry while the old topology still serves (a SCAN in bounded pieces), then writes on the old masters
 * wait briefly while what changed meanwhile is copied again. The keys written since the copy began come
 * from keyspace watchers (keyspace-watcher.ts); cluster-retype.ts drives the steps.
 */
import type { Redis } from 'ioredis';
import { MARK_CHANNEL } from './keyspace-watcher.ts';
import { readInfo } from './node-state.ts';
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

/**
 * How many times the source ran a command that empties or swaps a whole database (FLUSHALL, FLUSHDB,
 * SWAPDB; in MULTI or scripts too), from INFO commandstats. Redis sends no per-key keyspace event for
 * them, so the watchers cannot record what they removed: a count that moved during the copy means the
 * keys copied so far may be gone at the source, and the copy starts over.
 */
export async function keyspaceWideCalls(source: Redis): Promise<number> {
  const stats = await readInfo(source, 'commandstats');
  let calls = 0;
  for (const name of ['flushall', 'flushdb', 'swapdb']) calls += Number(/(?:^|,)calls=(\d+)/.exec(stats.get(`cmdstat_${name}`) ?? '')?.[1] ?? 0);
  return calls;
}

/** Holds writes on every source (they wait; reads go on). */
export async function pauseWrites(sources: readonly RetypeSource[], ms = CUTOVER_PAUSE_MS): Promise<void> {
  await Promise.all(sources.map((s) => s.client.call('CLIENT', 'PAUSE', String(ms), 'WRITE')));
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

/** Copies `keys` (latin1 strings, byte-exact) in batches. */
export async function copyKeys(source: Redis, keys: Iterable<string>, target: RetypeTarget, signal: AbortSignal): Promise<number> {
  let batch: Buffer[] = [];
  let copied = 0;
  for (const k of keys) {
    batch.push(Buffer.from(k, 'latin1'));
    if (batch.length < SCAN_COUNT) continue;
    signal.throwIfAborted();
    copied += await copyBatch(source, batch, target);
    batch = [];
  }
  return copied + (await copyBatch(source, batch, target));
}

/**
 * Copies keys of `source` from SCAN `cursor` on until the scan is through or `deadline` passed (one batch
 * at least, so every call gets on). Returns the cursor to go on from (null: through) once every batch read
 * is written: a cursor is only recorded for keys that are at the target.
 */
export async function copyScan(source: Redis, cursor: string, target: RetypeTarget, deadline: number, signal: AbortSignal, progress: { done: number }): Promise<string | null> {
  const inFlight: Array<Promise<unknown>> = [];
  let next: string | null = cursor;
  do {
    signal.throwIfAborted();
    const [c, keys] = (await source.scanBuffer(next, 'COUNT', SCAN_COUNT)) as [Buffer, Buffer[]];
    next = c.toString() === '0' ? null : c.toString();
    // The next batch is read while this one is written; at most a few batches are in flight.
    inFlight.push(copyBatch(source, keys, target).then((n) => (progress.done += n)));
    if (inFlight.length >= 4) await inFlight.shift();
  } while (next !== null && Date.now() < deadline);
  await Promise.all(inFlight);
  return next;
}

/**
 * Holds writes on every source (CUTOVER_PAUSE_MS) and, in the same MULTI, publishes `token` on the
 * watchers' mark channel: every write acknowledged before the pause is in a watcher's file before the
 * token. A pause left by an earlier try is lifted first (a paused node would hold the EXEC too).
 */
export async function pauseWithMark(sources: readonly RetypeSource[], token: string): Promise<void> {
  await Promise.all(
    sources.map(async (s) => {
      await s.client.call('CLIENT', 'UNPAUSE');
      const replies = await s.client.multi().publish(MARK_CHANNEL, token).call('CLIENT', 'PAUSE', String(CUTOVER_PAUSE_MS), 'WRITE').exec();
      for (const [err] of replies ?? []) if (err) throw err;
    }),
  );
}
