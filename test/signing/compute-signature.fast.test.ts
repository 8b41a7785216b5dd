/**
 * computeSignature builds HMAC-SHA256 from two one-shot hashes over cached key pads (a hot path of
 * every request); it must agree with node:crypto's createHmac for every key and message, including
 * keys used again (pads from the cache), long messages and long keys (the createHmac fallback).
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeSignature } from '../../src/signing/signing-key.ts';

const reference = (key: Buffer, message: string): string => createHmac('sha256', key).update(message, 'utf8').digest('hex');

describe('computeSignature', () => {
  it('equals createHmac for any key and message', () => {
    const keys = fc.uint8Array({ minLength: 0, maxLength: 100 }).map((bytes) => Buffer.from(bytes));
    const messages = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ minLength: 1000, maxLength: 3000 }));
    fc.assert(
      fc.property(keys, fc.array(messages, { minLength: 1, maxLength: 4 }), (key, list) => {
        // The same key object several times: the later calls use the pads cached for it.
        for (const message of list) expect(computeSignature(key, message)).toBe(reference(key, message));
      }),
      { numRuns: 300 },
    );
  });

  it('does not mix up the pads of two keys with the same length', () => {
    const a = Buffer.alloc(32, 1);
    const b = Buffer.alloc(32, 2);
    expect(computeSignature(a, 'x')).toBe(reference(a, 'x'));
    expect(computeSignature(b, 'x')).toBe(reference(b, 'x'));
    expect(computeSignature(a, 'x')).not.toBe(computeSignature(b, 'x'));
  });
});
