import { describe, expect, it } from 'vitest';
import { memoized, rememberLast } from '../../src/signing/memo.ts';

describe('memoized', () => {
  it('computes once per key, remembers undefined too, and empties the map at its bound', () => {
    const cache = new Map<string, string | undefined>();
    let made = 0;
    const get = (key: string) => memoized(cache, key, () => (made++, key === 'none' ? undefined : key.toUpperCase()), 3);
    expect(get('a')).toBe('A');
    expect(get('a')).toBe('A');
    expect(get('none')).toBeUndefined();
    expect(get('none')).toBeUndefined();
    expect(made).toBe(2);
    get('b');
    expect(cache.size).toBe(3);
    get('c'); // the bound is reached: emptied, then c stored
    expect([...cache.keys()]).toEqual(['c']);
    expect(made).toBe(4);
  });
});

describe('rememberLast', () => {
  it('answers a repeated argument from the last call and recomputes for a new one', () => {
    let calls = 0;
    const len = rememberLast((text) => (calls++, text.length));
    expect([len('ab'), len('ab'), len('abc'), len('ab')]).toEqual([2, 2, 3, 2]);
    expect(calls).toBe(3);
  });
});
