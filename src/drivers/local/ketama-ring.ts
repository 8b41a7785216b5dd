/**
 * Which shard twemproxy sends a key to, computed here so the control plane can move keys to their owners
 * under a new shard count and probe each shard's path through a proxy. It follows twemproxy 0.5.0's
 * behaviour for the conf nutcracker.ts writes (`hash: md5`, `distribution: ketama`, `hash_tag: "{}"`,
 * every server of weight 1 named `s<shard>`); test/proxy/ketama-ring.test.ts checks it against the real
 * nutcracker, key by key.
 */
import { createHash } from 'node:crypto';

/** Points on the ring per server and per MD5 digest, as twemproxy's ketama has them. */
const POINTS_PER_SERVER = 160;
const POINTS_PER_HASH = 4;

/** twemproxy's `md5` key hash: the digest's first four bytes, little-endian. */
export function md5Hash(key: Buffer): number {
  return createHash('md5').update(key).digest().readUInt32LE(0);
}

/** The part of the key that is hashed: what lies between the first `{` and the next `}`, when not empty. */
export function hashedPart(key: Buffer): Buffer {
  const open = key.indexOf(0x7b);
  if (open < 0) return key;
  const close = key.indexOf(0x7d, open + 1);
  return close - open > 1 ? key.subarray(open + 1, close) : key;
}

/** A ring of `shards` servers named `s0…s<n-1>`: `shardOf(key)` is the index twemproxy dispatches to. */
export class KetamaRing {
  private readonly values: Uint32Array;
  private readonly owners: Uint16Array;

  constructor(readonly shards: number) {
    if (!Number.isInteger(shards) || shards < 1 || shards > 65_535) throw new Error(`a ring needs 1 to 65535 servers, got ${shards}`);
    // twemproxy works out the points per server in single precision; the same rounding here.
    const pct = Math.fround(1 / shards);
    const perServer = Math.floor(Math.fround(Math.fround(Math.fround(Math.fround(pct * POINTS_PER_SERVER) / 4) * shards) + 1e-10)) * 4;
    const points: Array<[number, number]> = [];
    for (let s = 0; s < shards; s++) {
      for (let i = 0; i < perServer / POINTS_PER_HASH; i++) {
        const digest = createHash('md5').update(`s${s}-${i}`).digest();
        for (let x = 0; x < POINTS_PER_HASH; x++) points.push([digest.readUInt32LE(x * 4), s]);
      }
    }
    // qsort is not stable: equal values (vanishingly rare) would be ordered arbitrarily there too.
    points.sort((a, b) => a[0] - b[0]);
    this.values = Uint32Array.from(points, (p) => p[0]);
    this.owners = Uint16Array.from(points, (p) => p[1]);
  }

  shardOf(key: Buffer | string): number {
    if (this.shards === 1) return 0;
    const part = hashedPart(typeof key === 'string' ? Buffer.from(key) : key);
    const hash = part.length === 0 ? 0 : md5Hash(part);
    // The first point at or after the hash, wrapping around.
    let lo = 0;
    let hi = this.values.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.values[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.owners[lo === this.values.length ? 0 : lo]!;
  }

  /** One short key that lands on each shard (`probe:<n>`), in shard order: a way to touch every shard's path. */
  probeKeys(): string[] {
    const found = new Array<string | undefined>(this.shards);
    let left = this.shards;
    for (let n = 0; left > 0; n++) {
      const key = `jcs:probe:${n}`;
      const s = this.shardOf(key);
      if (found[s] === undefined) {
        found[s] = key;
        left--;
      }
    }
    return found as string[];
  }
}
