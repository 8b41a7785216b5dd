/**
 * Hostile input found by hand that used to get a 5xx or a non-JD answer: huge page numbers (a SQLite
 * datatype mismatch), a deeply nested JSON body (stack overflow), router-level 400s without the
 * request-id header, an over-long URL answered by Fastify's own body; and /healthz telling anyone the
 * Redis version. Every answer must be the JD envelope with a 4xx and the x-jdcloud-request-id header.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../helpers/signed-fetch.ts';
import { startTestService, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ instancePorts: '23300-23399' });
});
afterAll(async () => {
  await svc?.destroy();
});

function expectEnvelope(res: { status: number; headers: Headers; json: unknown; text?: string }, status: number, code: string): void {
  const body = res.json as { requestId?: string; error?: { code: number; status: string; message: string } } | undefined;
  expect(res.status, res.text).toBe(status);
  expect(body?.requestId, res.text).toMatch(/^[a-z0-9]{32}$/);
  expect(res.headers.get('x-jdcloud-request-id')).toBe(body?.requestId);
  expect(body?.error).toMatchObject({ code: status, status: code });
}

const LIST = '/v1/regions/cn-north-1/cacheInstance';

describe('hostile input gets a JD envelope and a 4xx, never a 5xx', () => {
  for (const pageNumber of ['100000000000000000', '1e400', '9007199254740993', '2147483648']) {
    it(`describeCacheInstances pageNumber=${pageNumber}`, async () => {
      const res = await signedFetch(svc.url, { method: 'GET', path: LIST, query: `pageNumber=${pageNumber}` });
      expectEnvelope(res, 400, 'INVALID_ARGUMENT');
      expect(res.json.error.message).toMatch(/^pageNumber: must be an integer from 1 to 2147483647/);
    });
  }

  it('the largest page number is answered with an empty page', async () => {
    const res = await signedFetch(svc.url, { method: 'GET', path: LIST, query: 'pageNumber=2147483647&pageSize=100' });
    expect(res.status).toBe(200);
    expect(res.json.result).toMatchObject({ cacheInstances: [], totalCount: 0 });
  });

  it('a 6 KB JSON body nested 3,000 deep (arrays) and a 30 KB one nested 5,000 deep (objects)', async () => {
    const arrays = `{"a":${'['.repeat(3_000)}${']'.repeat(3_000)}}`;
    const objects = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
    expect(arrays.length).toBeGreaterThan(6_000);
    for (const body of [arrays, objects]) {
      for (const path of [LIST, `${LIST}/redis-aaaaaaaaaaaa`]) {
        const res = await signedFetch(svc.url, { method: path === LIST ? 'POST' : 'PATCH', path, body });
        expectEnvelope(res, 400, 'INVALID_ARGUMENT');
        expect(res.json.error.message).toBe('body: JSON nested deeper than 32 levels');
      }
    }
  });

  it('a JSON body nested 30 deep (within the limit) is still parsed and validated', async () => {
    const res = await signedFetch(svc.url, { method: 'PATCH', path: `${LIST}/redis-aaaaaaaaaaaa`, body: { cacheInstanceName: 'okname', deep: JSON.parse(`${'{"a":'.repeat(30)}1${'}'.repeat(30)}`) } });
    expectEnvelope(res, 404, 'NOT_FOUND');
  });

  it('router-level 400s (bad percent-encoding, over-long path segment) carry the request-id header', async () => {
    const badEncoding = await signedFetch(svc.url, { method: 'GET', path: `${LIST}/redis-%E0%A4%A` });
    expectEnvelope(badEncoding, 400, 'INVALID_ARGUMENT');
    const longSegment = await signedFetch(svc.url, { method: 'GET', path: `${LIST}/${'a'.repeat(200)}` });
    expectEnvelope(longSegment, 400, 'INVALID_ARGUMENT');
  });

  it('an over-long URL gets the JD envelope, not Fastify\'s or Node\'s own body', async () => {
    for (const length of [20_000, 70_000]) {
      const res = await rawGet(`${LIST}?x=${'a'.repeat(length)}`);
      expect(res.status, `${length}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const json = JSON.parse(res.text) as { requestId: string; error: { status: string; message: string } };
      expect(json.error.status).toMatch(/INVALID_ARGUMENT|URI_TOO_LONG|PAYLOAD_TOO_LARGE/);
      expect(json.requestId).toMatch(/^[a-z0-9]{32}$/);
      expect(res.requestId).toBe(json.requestId);
    }
  });
});

describe('/healthz', () => {
  it('answers unauthenticated callers without the Redis version or anything else about the host', async () => {
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { requestId: string; result: Record<string, unknown> };
    expect(body.result).toEqual({ status: 'ok' });
    expect(JSON.stringify(body)).not.toMatch(/7\.\d+\.\d+|redis/i);
  });
});

/** A GET with Node's http client, which (unlike fetch) does not refuse a long URL itself. */
function rawGet(path: string): Promise<{ status: number; text: string; requestId: string | undefined }> {
  const url = new URL(svc.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method: 'GET', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, requestId: res.headers['x-jdcloud-request-id'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

