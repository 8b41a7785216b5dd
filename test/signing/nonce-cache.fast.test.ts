import { describe, expect, it } from 'vitest';
import { NonceCache } from '../../src/signing/nonce-cache.ts';

describe('NonceCache', () => {
  it('refuses a pair while it is remembered and accepts it again after it expires', () => {
    const cache = new NonceCache();
    expect(cache.checkAndRemember('ak', 'n1', 0, 1000)).toBe(true);
    expect(cache.checkAndRemember('ak', 'n1', 999, 1999)).toBe(false);
    expect(cache.checkAndRemember('other', 'n1', 999, 1999)).toBe(true);
    expect(cache.checkAndRemember('ak', 'n1', 1000, 2000)).toBe(true);
  });

  it('keeps access key and nonce apart whatever they contain', () => {
    const cache = new NonceCache();
    expect(cache.checkAndRemember('a/b', 'c', 0, 10)).toBe(true);
    expect(cache.checkAndRemember('a', 'b/c', 0, 10)).toBe(true);
  });

  it('never holds more than maxEntries, dropping expired pairs before live ones', () => {
    const cache = new NonceCache(3);
    cache.checkAndRemember('ak', 'live-old', 0, 10_000);
    cache.checkAndRemember('ak', 'expired', 0, 100);
    cache.checkAndRemember('ak', 'live', 0, 10_000);
    // Full: the expired pair goes, both live ones stay.
    expect(cache.checkAndRemember('ak', 'new', 5_000, 10_000)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.checkAndRemember('ak', 'live-old', 5_000, 10_000)).toBe(false);
    expect(cache.checkAndRemember('ak', 'live', 5_000, 10_000)).toBe(false);
    // Full of live pairs: the oldest is evicted to make room.
    expect(cache.checkAndRemember('ak', 'newer', 5_001, 10_000)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.checkAndRemember('ak', 'live-old', 5_002, 10_000)).toBe(true);
  });

  it('keeps refusing every live pair while it evicts the oldest, over many rounds', () => {
    const cache = new NonceCache(100);
    for (let i = 0; i < 1_000; i++) {
      expect(cache.checkAndRemember('ak', `n${i}`, i, 1_000_000)).toBe(true);
      expect(cache.size).toBeLessThanOrEqual(100);
    }
    // The newest 100 are all still remembered; the one before them was evicted.
    for (let i = 900; i < 1_000; i++) expect(cache.checkAndRemember('ak', `n${i}`, 1_000, 1_000_000)).toBe(false);
    expect(cache.checkAndRemember('ak', 'n899', 1_000, 1_000_000)).toBe(true);
  });

  it('rejects a nonsensical bound', () => {
    expect(() => new NonceCache(0)).toThrow(/positive integer/);
  });
});
