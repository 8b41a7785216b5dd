/**
 * The signing hot path's two memo shapes. Every memo here maps text a client sends to what is
 * derived from it, so each is bounded: a flood of distinct inputs costs what no memo would.
 */

/**
 * `cache.get(key)`, or `make()` stored under `key` on a miss (undefined is a value like any other).
 * The map is emptied when it reaches `max` entries.
 */
export function memoized<V>(cache: Map<string, V>, key: string, make: () => V, max = 1_000): V {
  const hit = cache.get(key);
  if (hit !== undefined || cache.has(key)) return hit as V;
  const value = make();
  if (cache.size >= max) cache.clear();
  cache.set(key, value);
  return value;
}

/**
 * Wraps a pure one-argument function so that a call with the same argument as the previous call
 * returns the previous answer: for inputs that repeat back to back (the same header read twice per
 * request, a date shared by every request of one second).
 */
export function rememberLast<T>(fn: (text: string) => T): (text: string) => T {
  let lastText: string | undefined;
  let lastValue: T;
  return (text) => {
    if (text !== lastText) {
      lastValue = fn(text);
      lastText = text;
    }
    return lastValue;
  };
}
