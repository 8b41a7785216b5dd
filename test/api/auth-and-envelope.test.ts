/** Every 401 cause, and the JD Cloud envelope on every kind of answer, against the real service. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../helpers/signed-fetch.ts';
import { startTestService, type TestService } from '../helpers/test-service.ts';
import { JD_OPERATIONS } from '../../src/api/jd-operations.ts';

let svc: TestService;
const QUOTA = '/v1/regions/cn-north-1/quota';

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '18100-18199' });
});
afterAll(async () => {
  await svc?.destroy();
});

function expectEnvelope(res: { status: number; headers: Headers; json: unknown }, status: number, code: string): void {
  const body = res.json as { requestId: string; error: { code: number; status: string; message: string } };
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  expect(body.requestId).toMatch(/^[a-z0-9]{32}$/);
  expect(res.headers.get('x-jdcloud-request-id')).toBe(body.requestId);
  expect(body.error).toMatchObject({ code: status, status: code });
  expect(typeof body.error.message).toBe('string');
}

describe('signature checks (401 ACCESS_ERROR, with the cause named)', () => {
  it('accepts a correctly signed request', async () => {
    const res = await signedFetch(svc.url, { method: 'GET', path: QUOTA });
    expect(res.status).toBe(200);
    expect(res.json.result.quota.max).toBe(20);
    expect(res.headers.get('x-jdcloud-request-id')).toBe(res.json.requestId);
  });

  const cases: [string, Parameters<typeof signedFetch>[1], RegExp][] = [
    ['missing authorization', { method: 'GET', path: QUOTA, unsigned: true }, /lack of header authorization/],
    ['malformed authorization', { method: 'GET', path: QUOTA, unsigned: true, headers: { authorization: 'Basic abc' } }, /malformed authorization/],
    ['unknown access key', { method: 'GET', path: QUOTA, accessKey: 'NOSUCHKEY' }, /^sign result is not same/],
    ['wrong secret', { method: 'GET', path: QUOTA, secretKey: 'WRONG' }, /sign/],
    ['date too far off', { method: 'GET', path: QUOTA, date: new Date(Date.now() - 20 * 60_000) }, /15 minutes|skew|off/],
    [
      'tampered body',
      { method: 'PATCH', path: '/v1/regions/cn-north-1/cacheInstance/redis-aaaaaaaaaaaa', body: { cacheInstanceName: 'abc' }, tamperBody: '{"cacheInstanceName":"abd"}' },
      /sign/,
    ],
  ];
  for (const [name, call, message] of cases) {
    it(`refuses: ${name}`, async () => {
      const res = await signedFetch(svc.url, call);
      expectEnvelope(res, 401, 'ACCESS_ERROR');
      expect(res.json.error.message).toMatch(message);
    });
  }

  it('refuses a replayed nonce', async () => {
    const nonce = 'replay-test-nonce';
    const date = new Date();
    expect((await signedFetch(svc.url, { method: 'GET', path: QUOTA, nonce, date })).status).toBe(200);
    const again = await signedFetch(svc.url, { method: 'GET', path: QUOTA, nonce, date });
    expectEnvelope(again, 401, 'ACCESS_ERROR');
    expect(again.json.error.message).toMatch(/nonce/);
  });

  it('accepts JDCLOUD3 (Python SDK) with a raw colon and a body full of nulls and path params', async () => {
    const res = await signedFetch(svc.url, {
      method: 'POST',
      algorithm: 'JDCLOUD3',
      path: '/v1/regions/cn-north-1/cacheInstance/redis-doesnotexist:resetCacheInstancePassword',
      body: { regionId: 'cn-north-1', cacheInstanceId: 'redis-doesnotexist', password: null },
    });
    // Authenticated, routed through the action, then not found: the signature and the colon both worked.
    expectEnvelope(res, 404, 'NOT_FOUND');
    expect(res.json.error.message).toContain('redis-doesnotexist');
  });

  it('routes an action whose colon is sent as %3A', async () => {
    const res = await signedFetch(svc.url, {
      method: 'POST',
      path: '/v1/regions/cn-north-1/cacheInstance/redis-doesnotexist%3AmodifyCacheInstanceClass',
      body: { cacheInstanceClass: 'redis.m.small.basic' },
    });
    expectEnvelope(res, 404, 'NOT_FOUND');
  });
});

describe('envelope on every failure', () => {
  it('unknown route', async () => {
    const res = await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/cn-north-1/nothingHere' });
    expectEnvelope(res, 404, 'NOT_FOUND');
  });

  it('unknown action', async () => {
    const res = await signedFetch(svc.url, { method: 'POST', path: '/v1/regions/cn-north-1/cacheInstance/redis-x%3AexplodeInstance', body: {} });
    expectEnvelope(res, 404, 'NOT_FOUND');
  });

  it('malformed JSON', async () => {
    const res = await signedFetch(svc.url, { method: 'POST', path: '/v1/regions/cn-north-1/cacheInstance', body: '{"cacheInstance":' });
    expectEnvelope(res, 400, 'INVALID_ARGUMENT');
    expect(res.json.error.message).toMatch(/JSON/);
  });

  it('a JSON body that is not an object', async () => {
    const res = await signedFetch(svc.url, { method: 'POST', path: '/v1/regions/cn-north-1/cacheInstance', body: '[1,2]' });
    expectEnvelope(res, 400, 'INVALID_ARGUMENT');
  });

  it('oversized body', async () => {
    const res = await signedFetch(svc.url, {
      method: 'POST',
      path: '/v1/regions/cn-north-1/cacheInstance',
      body: { cacheInstance: { cacheInstanceDescription: 'x'.repeat(70_000) } },
    });
    expectEnvelope(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('wrong content type', async () => {
    const res = await signedFetch(svc.url, {
      method: 'POST',
      path: '/v1/regions/cn-north-1/cacheInstance',
      body: 'a=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('unknown region', async () => {
    const res = await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/mars-1/quota', region: 'mars-1' });
    expectEnvelope(res, 400, 'INVALID_ARGUMENT');
    expect(res.json.error.message).toMatch(/regionId.*mars-1/);
  });
});

describe('unsigned endpoints', () => {
  it('GET /healthz', async () => {
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { result: { status: string } }).result.status).toBe('ok');
  });

  it('GET /openapi.json describes all 62 operations of JD\'s API (those not implemented too) with their JD Cloud paths, and the jcs extensions apart', async () => {
    const doc = (await (await fetch(`${svc.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => `${op.operationId} ${method.toUpperCase()} ${path}`),
    );
    const jd = ops.filter((op) => op.split(' ')[2]!.startsWith('/v1/'));
    expect(jd.sort()).toEqual(JD_OPERATIONS.map((op) => `${op.name} ${op.method} ${op.path}`).sort());
    // Extensions of this service live under /jcs/v1, where no JD operation can ever be (docs/api.md).
    const extensions = ops.filter((op) => !jd.includes(op));
    expect(extensions.every((op) => op.split(' ')[2]!.startsWith('/jcs/v1/'))).toBe(true);
    expect(extensions).toContain('describeInstanceSamples GET /jcs/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/samples');
    expect(ops).toContain('modifyCacheInstanceClass POST /v1/regions/{regionId}/cacheInstance/{cacheInstanceId}:modifyCacheInstanceClass');
  });
});
