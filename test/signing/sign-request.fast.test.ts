import { describe, expect, it } from 'vitest';
import { canonicalQuery, canonicalRequest, canonicalUri, sha256Hex } from '../../src/signing/canonical-request.ts';
import { deriveSigningKey } from '../../src/signing/signing-key.ts';
import { formatJdcloudDate, signRequest } from '../../src/signing/sign-request.ts';
import {
  DATE,
  EDGE_CASES,
  GO_BACKEND_SIGN,
  JDCLOUD_DATE,
  JS_VECTORS,
  NONCE,
  PY_VECTORS,
  splitUrl,
  type SignatureVector,
} from './signature-vectors.ts';

function signVector(v: SignatureVector) {
  const { path, query } = splitUrl(v.rawUrl);
  const headers = { ...v.headers };
  const date = new Date(
    `${v.headers['x-jdcloud-date']?.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')}`,
  );
  return signRequest(
    { method: v.method, path, query, headers, body: v.body === '' ? undefined : v.body },
    { accessKey: v.accessKey, secretKey: v.secretKey },
    {
      region: v.region,
      service: v.service,
      date,
      nonce: v.headers['x-jdcloud-nonce'] as string,
      algorithm: v.version,
      signedHeaders: v.signedHeaders,
    },
  );
}

describe('signing key chain (reference §2.6)', () => {
  it('derives the documented kSigning for TESTSK / 20240102 / cn-north-1 / redis', () => {
    expect(deriveSigningKey('TESTSK', '20240102', 'cn-north-1', 'redis', 'JDCLOUD2').toString('hex')).toBe(
      '3d4f79ee73846f4abe54a2fe232ce0658e1aeb09c136d2878ecc3e29ab670f33',
    );
  });

  it('formats x-jdcloud-date without separators or milliseconds', () => {
    expect(formatJdcloudDate(DATE)).toBe(JDCLOUD_DATE);
  });
});

describe('signRequest reproduces every vector', () => {
  for (const v of [...JS_VECTORS, ...PY_VECTORS, GO_BACKEND_SIGN]) {
    it(v.name, () => {
      const { path, query } = splitUrl(v.rawUrl);
      if (v.canonicalRequestHash) {
        const canonical = canonicalRequest(
          {
            method: v.method,
            path,
            query,
            signedHeaders: v.signedHeaders,
            headers: v.headers,
            bodySha256: sha256Hex(v.body),
          },
          v.version,
        );
        expect(sha256Hex(canonical)).toBe(v.canonicalRequestHash);
      }
      const added = signVector(v);
      expect(added['x-jdcloud-date']).toBe(v.headers['x-jdcloud-date']);
      expect(added['x-jdcloud-nonce']).toBe(v.headers['x-jdcloud-nonce']);
      const scope = `${v.headers['x-jdcloud-date']?.slice(0, 8)}/${v.region}/${v.service}/${v.version.toLowerCase()}_request`;
      expect(added.authorization).toBe(
        `${v.version}-HMAC-SHA256 Credential=${v.accessKey}/${scope}, SignedHeaders=${v.signedHeaders.join(';')}, Signature=${v.signature}`,
      );
    });
  }

  it('by default signs every given header except authorization and user-agent, plus date and nonce (JS SDK rule)', () => {
    const v = JS_VECTORS[0] as SignatureVector;
    const { 'x-jdcloud-date': _d, 'x-jdcloud-nonce': _n, ...sent } = v.headers;
    const added = signRequest(
      { method: 'GET', path: v.rawUrl, headers: { ...sent, Authorization: 'old' } },
      { accessKey: 'TESTAK', secretKey: 'TESTSK' },
      { region: 'cn-north-1', date: DATE, nonce: NONCE },
    );
    expect(added.authorization).toContain('SignedHeaders=accept;content-type;host;x-jdcloud-date;x-jdcloud-nonce,');
    expect(added.authorization).toContain(`Signature=${v.signature}`);
  });

  it('uses a fresh UUID nonce and the current time by default', () => {
    const creds = { accessKey: 'AK', secretKey: 'SK' };
    const req = { method: 'GET', path: '/v1/regions/cn-north-1/quota', headers: { host: 'h' } };
    const a = signRequest(req, creds, { region: 'cn-north-1' });
    const b = signRequest(req, creds, { region: 'cn-north-1' });
    expect(a['x-jdcloud-nonce']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a['x-jdcloud-nonce']).not.toBe(b['x-jdcloud-nonce']);
    expect(Math.abs(Date.parse(a['x-jdcloud-date'].replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) - Date.now())).toBeLessThan(5000);
  });

  it('refuses to sign a header the request does not carry', () => {
    expect(() =>
      signRequest(
        { method: 'GET', path: '/', headers: {} },
        { accessKey: 'AK', secretKey: 'SK' },
        { region: 'cn-north-1', signedHeaders: ['host'] },
      ),
    ).toThrow(/host/);
  });
});

describe('canonical URI and query', () => {
  for (const e of EDGE_CASES) {
    it(e.name, () => {
      const { path, query } = splitUrl(e.rawUrl);
      expect(canonicalUri(path, 'JDCLOUD2')).toBe(e.canonicalPath);
      expect(canonicalQuery(query, 'JDCLOUD2')).toBe(e.canonicalQuery);
    });
  }

  it('JDCLOUD2: %3A and a literal ":" give the same canonical path; %2F stays inside its segment', () => {
    expect(canonicalUri('/v1/a/redis-x:reset', 'JDCLOUD2')).toBe('/v1/a/redis-x%3Areset');
    expect(canonicalUri('/v1/a/redis-x%3areset', 'JDCLOUD2')).toBe('/v1/a/redis-x%3Areset');
    expect(canonicalUri('/v1//a%2Fb', 'JDCLOUD2')).toBe('/v1//a%2Fb');
  });

  it('JDCLOUD3: decodes the whole path, collapses slashes and forces a leading slash', () => {
    expect(canonicalUri('/v1//a%2F/b+c:d', 'JDCLOUD3')).toBe('/v1/a/b%20c%3Ad');
    expect(canonicalUri('v1/x', 'JDCLOUD3')).toBe('/v1/x');
  });

  it('carries malformed escapes through instead of throwing', () => {
    expect(canonicalUri('/v1/%ZZ/%', 'JDCLOUD2')).toBe('/v1/%25ZZ/%25');
    expect(canonicalQuery('a=%E4%B8', 'JDCLOUD2')).toBe('a=%E4%B8');
  });

  it('sorts by key then value; "+" is a space; items without "=" are key= in V2 and dropped in V3', () => {
    expect(canonicalQuery('b=2&a=z&a=y&flag&c=x+y', 'JDCLOUD2')).toBe('a=y&a=z&b=2&c=x%20y&flag=');
    expect(canonicalQuery('b=2&a=z&a=y&flag&=v&c=x+y', 'JDCLOUD3')).toBe('a=y&a=z&b=2&c=x%20y');
  });
});
