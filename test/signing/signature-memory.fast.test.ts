import { describe, expect, it } from 'vitest';
import { SignatureMemory } from '../../src/signing/signature-memory.ts';

describe('SignatureMemory', () => {
  it('refuses a key while it is remembered and accepts it again after it expires', () => {
    const memory = new SignatureMemory();
    expect(memory.checkAndRemember('sig1', 0, 1000)).toBe(true);
    expect(memory.checkAndRemember('sig1', 999, 1999)).toBe(false);
    expect(memory.checkAndRemember('sig2', 999, 1999)).toBe(true);
    expect(memory.checkAndRemember('sig1', 1000, 2000)).toBe(true);
  });

  it('forgets a key on request, so the same request can be sent again', () => {
    const memory = new SignatureMemory();
    expect(memory.checkAndRemember('sig', 0, 1000)).toBe(true);
    memory.forget('sig');
    expect(memory.checkAndRemember('sig', 1, 1000)).toBe(true);
    expect(memory.checkAndRemember('sig', 2, 1000)).toBe(false);
  });

  it('never holds more than maxEntries, dropping expired keys before live ones', () => {
    const memory = new SignatureMemory(3);
    memory.checkAndRemember('live-old', 0, 10_000);
    memory.checkAndRemember('expired', 0, 100);
    memory.checkAndRemember('live', 0, 10_000);
    // Full: the expired key goes, both live ones stay.
    expect(memory.checkAndRemember('new', 5_000, 10_000)).toBe(true);
    expect(memory.size).toBe(3);
    expect(memory.checkAndRemember('live-old', 5_000, 10_000)).toBe(false);
    expect(memory.checkAndRemember('live', 5_000, 10_000)).toBe(false);
    // Full of live keys: the oldest is evicted to make room.
    expect(memory.checkAndRemember('newer', 5_001, 10_000)).toBe(true);
    expect(memory.size).toBe(3);
    expect(memory.checkAndRemember('live-old', 5_002, 10_000)).toBe(true);
  });

  it('keeps refusing every live key while it evicts the oldest, over many rounds', () => {
    const memory = new SignatureMemory(100);
    for (let i = 0; i < 1_000; i++) {
      expect(memory.checkAndRemember(`s${i}`, i, 1_000_000)).toBe(true);
      expect(memory.size).toBeLessThanOrEqual(100);
    }
    // The newest 100 are all still remembered; the one before them was evicted.
    for (let i = 900; i < 1_000; i++) expect(memory.checkAndRemember(`s${i}`, 1_000, 1_000_000)).toBe(false);
    expect(memory.checkAndRemember('s899', 1_000, 1_000_000)).toBe(true);
  });

  it('rejects a nonsensical bound', () => {
    expect(() => new SignatureMemory(0)).toThrow(/positive integer/);
  });
});
