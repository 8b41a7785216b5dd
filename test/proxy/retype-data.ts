/**
 * The data the type-change tests seed into a master-slave instance and check after every change:
 * `s:<i>` = `v<i>` (every third with a 10-minute expiry, which must move with the key, ABSTTL), a hash
 * `h:1` and, with `collections`, a list `l:1` and a sorted set `z:1`; then every acknowledged write of the
 * tests' writers.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { expect } from 'vitest';
import { clusterClient } from '../cluster/cluster-writer.ts';
import { proxyClient } from './proxy-writer.ts';

export interface SeedShape {
  keys: number;
  /** Also the list and the sorted set. */
  collections: boolean;
}

/** Queues the seeded keys on `p` (the caller runs it). */
export function seedKeys(p: ChainableCommander, shape: SeedShape): void {
  for (let i = 0; i < shape.keys; i++) {
    if (i % 3 === 0) p.set(`s:${i}`, `v${i}`, 'PX', 600_000);
    else p.set(`s:${i}`, `v${i}`);
  }
  p.hset('h:1', { a: '1', b: '2' });
  if (shape.collections) p.rpush('l:1', 'x', 'y', 'z').zadd('z:1', 1, 'one', 2, 'two');
}

type Reader = Pick<Redis, 'get' | 'pttl' | 'hgetall' | 'lrange' | 'zrange' | 'mget'> & { disconnect(): void };

/** Reads through the endpoint the way its type needs (a cluster client for a native cluster). */
async function reader(port: number, native: boolean): Promise<Reader> {
  if (native) return clusterClient('127.0.0.1', port, null);
  const c = proxyClient(port, undefined);
  await c.connect();
  return c;
}

/**
 * Every seeded key with its value (the expiry of every `ttlEvery`-th, a multiple of 3), the hash (and the
 * collections), and every `acked` key (`<prefix><n>` = n) on the endpoint `port`.
 */
export async function checkSeeded(port: number, native: boolean, shape: SeedShape & { ttlEvery: number }, acked: readonly string[]): Promise<void> {
  const c = await reader(port, native);
  try {
    for (let i = 0; i < shape.keys; i += 500) {
      const keys = Array.from({ length: Math.min(500, shape.keys - i) }, (_, j) => `s:${i + j}`);
      // A native cluster takes a multi-key read of one slot only: one GET each there.
      const values = native ? await Promise.all(keys.map((k) => c.get(k))) : await c.mget(...keys);
      expect(values).toEqual(keys.map((k) => `v${k.slice(2)}`));
    }
    for (let i = 0; i < shape.keys; i += shape.ttlEvery) {
      // The deadline moved with the key (ABSTTL), not reset and not lost.
      const ttl = await c.pttl(`s:${i}`);
      expect(ttl).toBeGreaterThan(60_000);
      expect(ttl).toBeLessThanOrEqual(600_000);
    }
    expect(await c.pttl('s:1')).toBe(-1);
    expect(await c.hgetall('h:1')).toEqual({ a: '1', b: '2' });
    if (shape.collections) {
      expect(await c.lrange('l:1', 0, -1)).toEqual(['x', 'y', 'z']);
      expect(await c.zrange('z:1', 0, -1)).toEqual(['one', 'two']);
    }
    const got = await Promise.all(acked.map((k) => c.get(k)));
    expect(acked.filter((k, i) => got[i] !== k.slice(k.lastIndexOf(':') + 1))).toEqual([]);
  } finally {
    c.disconnect();
  }
}
