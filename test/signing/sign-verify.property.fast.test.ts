/**
 * Properties over arbitrary input (fast-check): whatever path, query and body a client sends, the
 * request it signed verifies, however the path and query were percent-encoded and in whatever order
 * the query items arrive; any change to the body or to a query value breaks it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalQuery, canonicalUri } from '../../src/signing/canonical-request.ts';
import { rfc3986Encode } from '../../src/signing/percent-encoding.ts';
import { signRequest } from '../../src/signing/sign-request.ts';
import { verifyRequest } from '../../src/signing/verify-request.ts';

const NOW = new Date('2024-01-02T03:04:05Z');
const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const segments = fc.array(text, { minLength: 1, maxLength: 5 });
const pairs = fc.array(fc.tuple(text.filter((k) => k !== ''), text), { maxLength: 6 });
const strict = (s: string) => rfc3986Encode(Buffer.from(s, 'utf8'));

/** Three ways clients put the same thing on the wire: RFC 3986, encodeURIComponent, and `+` for spaces in queries. */
const encoders = [strict, encodeURIComponent, (s: string) => encodeURIComponent(s).replace(/%20/g, '+')] as const;

function signAndVerify(path: string, wirePath: string, query: string, wireQuery: string, body: string, wireBody: string) {
  const headers = { host: 'example.test:8000', 'content-type': 'application/json' };
  const added = signRequest({ method: 'POST', path, query, headers, body }, { accessKey: 'AK', secretKey: 'SK' }, { region: 'cn-north-1', date: NOW });
  return verifyRequest(
    { method: 'POST', rawUrl: wireQuery ? `${wirePath}?${wireQuery}` : wirePath, headers: { ...headers, ...added }, body: Buffer.from(wireBody) },
    (ak) => (ak === 'AK' ? 'SK' : undefined),
    { now: NOW },
  );
}

describe('signing properties', () => {
  it('canonical path and query do not depend on how the client percent-encoded them', () => {
    fc.assert(
      fc.property(segments, pairs, fc.constantFrom(0, 1), fc.constantFrom(0, 1, 2), (segs, items, pathEnc, queryEnc) => {
        const pathA = '/' + segs.map(strict).join('/');
        const pathB = '/' + segs.map(encoders[pathEnc] as (s: string) => string).join('/');
        expect(canonicalUri(pathB, 'JDCLOUD2')).toBe(canonicalUri(pathA, 'JDCLOUD2'));
        expect(canonicalUri(canonicalUri(pathA, 'JDCLOUD2'), 'JDCLOUD2')).toBe(canonicalUri(pathA, 'JDCLOUD2'));
        const enc = encoders[queryEnc] as (s: string) => string;
        const queryA = items.map(([k, v]) => `${strict(k)}=${strict(v)}`).join('&');
        const queryB = items.map(([k, v]) => `${enc(k)}=${enc(v)}`).reverse().join('&');
        expect(canonicalQuery(queryB, 'JDCLOUD2')).toBe(canonicalQuery(queryA, 'JDCLOUD2'));
      }),
    );
  });

  it('a signed request verifies as sent, with a differently encoded path, and with its query reordered', () => {
    fc.assert(
      fc.property(segments, pairs, fc.string({ maxLength: 40 }), (segs, items, body) => {
        const path = '/v1/' + segs.map(strict).join('/');
        const query = items.map(([k, v]) => `${strict(k)}=${strict(v)}`).join('&');
        const otherPath = '/v1/' + segs.map(encodeURIComponent).join('/');
        const reordered = items.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).reverse().join('&');
        expect(signAndVerify(path, path, query, query, body, body).ok).toBe(true);
        expect(signAndVerify(path, otherPath, query, reordered, body, body).ok).toBe(true);
      }),
    );
  });

  it('any change to the body or to a query value makes verification fail', () => {
    fc.assert(
      fc.property(segments, pairs.filter((p) => p.length > 0), fc.string({ maxLength: 40 }), (segs, items, body) => {
        const path = '/v1/' + segs.map(strict).join('/');
        const query = items.map(([k, v]) => `${strict(k)}=${strict(v)}`).join('&');
        const [[k0, v0], ...rest] = items as [[string, string], ...[string, string][]];
        const tampered = [[k0, `${v0}x`] as const, ...rest].map(([k, v]) => `${strict(k)}=${strict(v)}`).join('&');
        expect(signAndVerify(path, path, query, query, body, `${body} `).ok).toBe(false);
        expect(signAndVerify(path, path, query, tampered, body, body).ok).toBe(false);
      }),
    );
  });
});
