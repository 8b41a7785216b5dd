/**
 * Redis's glob (`stringmatchlen` in util.c: `*`, `?`, `[abc]`, `[^a-z]`, `\x`), over bytes. A purge scans
 * without SCAN's MATCH so that it can count every key it looked at (the progress it reports is measured,
 * not guessed), and matches names here instead, with the rules SCAN MATCH and KEYS use.
 */
export function globMatch(pattern: Uint8Array, name: Uint8Array): boolean {
  return matchFrom(pattern, 0, name, 0);
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

function matchFrom(p: Uint8Array, pi: number, s: Uint8Array, si: number): boolean {
  while (pi < p.length && si < s.length) {
    const c = p[pi]!;
    if (c === STAR) {
      while (pi + 1 < p.length && p[pi + 1] === STAR) pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k < s.length; k++) if (matchFrom(p, pi + 1, s, k)) return true;
      return false;
    }
    if (c === QUESTION) {
      pi++;
      si++;
      continue;
    }
    if (c === OPEN) {
      pi++;
      const not = p[pi] === CARET;
      if (not) pi++;
      let match = false;
      for (;;) {
        if (pi >= p.length) {
          pi--; // Redis: an unterminated class ends at the last character
          break;
        }
        const d = p[pi]!;
        if (d === BACKSLASH && pi + 1 < p.length) {
          pi++;
          if (p[pi] === s[si]) match = true;
        } else if (d === CLOSE) {
          break;
        } else if (pi + 2 < p.length && p[pi + 1] === DASH) {
          let start = d;
          let end = p[pi + 2]!;
          if (start > end) [start, end] = [end, start];
          pi += 2;
          if (s[si]! >= start && s[si]! <= end) match = true;
        } else if (d === s[si]) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      pi++;
      si++;
      continue;
    }
    if (c === BACKSLASH && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  if (si < s.length) return false;
  while (pi < p.length && p[pi] === STAR) pi++;
  return pi === p.length;
}
