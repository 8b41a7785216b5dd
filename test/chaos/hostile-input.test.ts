/**
 * Property-based hostile input: random and malformed bodies, query strings, headers, path segments and
 * signatures at every route. The service must always answer with the JD Cloud envelope and a 4xx
 * (never a 5xx or a hang), and a rejected request must change nothing.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, type CallResult } from '../helpers/signed-fetch.ts';
import { startTestService, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
const RUNS = Number(process.env.HOSTILE_RUNS ?? 150);

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '18700-18799' });
});
afterAll(async () => {
  await svc?.destroy();
});

async function stateFingerprint(): Promise<string> {
  const rows = await svc.db.selectFrom('instances').select(['id', 'name', 'description', 'status', 'instance_class', 'password_sha256']).orderBy('id').execute();
  const ports = await svc.db.selectFrom('ports').selectAll().orderBy('port').execute();
  const tasks = await svc.db.selectFrom('tasks').select(['id', 'state']).orderBy('id').execute();
  return JSON.stringify({ rows, ports, tasks });
}

function expectRejectedEnvelope(res: CallResult): void {
  expect(res.status, res.text).toBeGreaterThanOrEqual(400);
  expect(res.status, res.text).toBeLessThan(500);
  expect(res.json?.requestId).toMatch(/^[a-z0-9]{32}$/);
  expect(res.json?.error?.code).toBe(res.status);
  expect(typeof res.json?.error?.status).toBe('string');
}

const ROUTES: { method: string; path: string }[] = [
  { method: 'POST', path: '/v1/regions/cn-north-1/cacheInstance' },
  { method: 'PATCH', path: '/v1/regions/cn-north-1/cacheInstance/redis-aaaaaaaaaaaa' },
  { method: 'POST', path: '/v1/regions/cn-north-1/cacheInstance/redis-aaaaaaaaaaaa%3AmodifyCacheInstanceClass' },
  { method: 'POST', path: '/v1/regions/cn-north-1/cacheInstance/redis-aaaaaaaaaaaa%3AresetCacheInstancePassword' },
];

// Bodies that are mostly wrong in shape: any JSON value, objects with the right keys and random
// values, and raw strings that are not JSON at all.
const hostileBody = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.record({ cacheInstance: fc.jsonValue(), charge: fc.jsonValue() }).map((v) => JSON.stringify(v)),
  fc
    .record({
      cacheInstanceName: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
      cacheInstanceClass: fc.oneof(fc.string(), fc.constant('redis.m.micro.basic')),
      password: fc.oneof(fc.string(), fc.integer()),
      cacheInstanceDescription: fc.oneof(fc.string({ maxLength: 300 }), fc.array(fc.string())),
    })
    .map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
);

describe('hostile input never yields a 5xx, a hang or a state change', () => {
  it('random bodies on every body-taking route', async () => {
    const before = await stateFingerprint();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), hostileBody, async (route, body) => {
        const res = await signedFetch(svc.url, { ...route, body });
        expectRejectedEnvelope(res);
      }),
      { numRuns: RUNS },
    );
    expect(await stateFingerprint()).toBe(before);
  });

  it('random query strings on the list route', async () => {
    const key = fc.oneof(
      fc.constantFrom('pageNumber', 'pageSize', 'filters.1.name', 'filters.1.values.1', 'filters.2.operator', 'sorts.1.name', 'sorts.1.direction', 'tagFilters.1.key', 'tagFilters.3.values.2'),
      fc.string({ minLength: 1, maxLength: 20 }),
    );
    const query = fc.array(fc.tuple(key, fc.string({ maxLength: 30 })), { maxLength: 8 }).map((pairs) =>
      pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
    );
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const res = await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/cn-north-1/cacheInstance', query: q });
        // A random query can be valid (an empty page): then it is a 200 with a list.
        if (res.status === 200) expect(res.json.result.totalCount).toBe(0);
        else expectRejectedEnvelope(res);
      }),
      { numRuns: RUNS },
    );
  });

  it('random path segments as instance ids and regions', async () => {
    const segment = fc.oneof(
      fc.string({ minLength: 1, maxLength: 40 }).map((s) => encodeURIComponent(s)),
      fc.constantFrom('..', '%2e%2e', '%00', '%ZZ', 'redis-%E4%B8%AD', 'a'.repeat(300), '%3A', ':'),
    );
    const before = await stateFingerprint();
    await fc.assert(
      fc.asyncProperty(segment, segment, fc.constantFrom('GET', 'DELETE', 'PATCH'), async (region, id, method) => {
        const res = await signedFetch(svc.url, {
          method,
          path: `/v1/regions/${region}/cacheInstance/${id}`,
          body: method === 'PATCH' ? { cacheInstanceName: 'abc' } : undefined,
        });
        expectRejectedEnvelope(res);
      }),
      { numRuns: RUNS },
    );
    expect(await stateFingerprint()).toBe(before);
  });

  it('random authorization headers and signatures are 401', async () => {
    const header = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc
        .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fc.array(fc.constantFrom(...'0123456789abcdef'), { minLength: 64, maxLength: 64 }).map((a) => a.join('')))
        .map(([ak, headers, sig]) => `JDCLOUD2-HMAC-SHA256 Credential=${ak}/20240102/cn-north-1/redis/jdcloud2_request, SignedHeaders=${headers}, Signature=${sig}`),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.string({ maxLength: 40 }), async (authorization, date) => {
        // Headers must be legal HTTP header values; fetch refuses the rest before sending.
        const safe = (s: string): string => s.replace(/[^\x20-\x7e]/g, 'x');
        const res = await signedFetch(svc.url, {
          method: 'GET',
          path: '/v1/regions/cn-north-1/quota',
          unsigned: true,
          headers: { authorization: safe(authorization), 'x-jdcloud-date': safe(date), 'x-jdcloud-nonce': 'n' },
        });
        expect(res.status).toBe(401);
        expectRejectedEnvelope(res);
      }),
      { numRuns: RUNS },
    );
  });

  it('never echoes a secret key or a password in a response', async () => {
    const res = await signedFetch(svc.url, {
      method: 'POST',
      path: '/v1/regions/cn-north-1/cacheInstance',
      body: { cacheInstance: { password: 'Secret12345678!', cacheInstanceName: 'x' } },
    });
    expectRejectedEnvelope(res);
    expect(res.text).not.toContain('Secret12345678');
    const wrong = await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/cn-north-1/quota', secretKey: 'WRONGSECRET' });
    expect(wrong.text).not.toContain('WRONGSECRET');
    expect(wrong.text).not.toContain('TESTSK');
  });
});
