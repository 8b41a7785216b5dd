/**
 * What the API's answers give away, and what a signature binds (issue 11, "Replays fail"):
 * - a request signed for one region must not act in another (the credential scope's region is the
 *   path's regionId);
 * - an unknown access key and a wrong signature get the same status and message, and cost about the
 *   same time, so the answer does not tell which access keys exist.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/signing/sign-request.ts';
import { SIGNATURE_MISMATCH, verifyRequest, type ReceivedRequest } from '../../src/signing/verify-request.ts';
import { signedFetch } from '../helpers/signed-fetch.ts';
import { startTestService, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ instancePorts: '23100-23199' });
});
afterAll(async () => {
  await svc?.destroy();
});

describe('the credential scope region must be the path region', () => {
  it('refuses a read and a mutation signed for cn-north-1 but sent to cn-east-2, and names both', async () => {
    for (const call of [
      { method: 'GET', path: '/v1/regions/cn-east-2/quota' },
      { method: 'POST', path: '/v1/regions/cn-east-2/cacheInstance/redis-doesnotexist:resetCacheInstancePassword', body: {} },
    ]) {
      const res = await signedFetch(svc.url, { ...call, region: 'cn-north-1' });
      expect(res.status).toBe(401);
      expect(res.headers.get('x-jdcloud-request-id')).toBe(res.json.requestId);
      expect(res.json.error).toEqual({
        code: 401,
        status: 'ACCESS_ERROR',
        message: 'credential scope region "cn-north-1" does not match regionId "cn-east-2" in the path',
      });
    }
  });

  it('accepts the same request signed for its own region (as every JD SDK signs it)', async () => {
    expect((await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/cn-east-2/quota', region: 'cn-east-2' })).status).toBe(200);
    expect((await svc.sdk(undefined, undefined, 'cn-east-2').describeUserQuota({})).result.quota.max).toBe(20);
  });
});

describe('unknown access key and wrong signature look alike', () => {
  it('same status, same status code and same message over HTTP', async () => {
    const unknown = await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/cn-north-1/quota', accessKey: 'JDC_NOSUCHKEY0000000000000000', secretKey: 'X' });
    const wrong = await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/cn-north-1/quota', secretKey: 'WRONGSECRET' });
    expect(unknown.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(unknown.json.error).toEqual(wrong.json.error);
    expect(unknown.json.error).toEqual({ code: 401, status: 'ACCESS_ERROR', message: SIGNATURE_MISMATCH });
    expect(unknown.json.error.message).not.toMatch(/NOSUCHKEY/);
  });

  it('about the same verification time: the HMAC is computed with a dummy secret for an unknown key', () => {
    const now = new Date();
    const request = (accessKey: string): ReceivedRequest => {
      const headers: Record<string, string> = { host: '127.0.0.1:8000', 'content-type': 'application/json' };
      const path = '/v1/regions/cn-north-1/cacheInstance/redis-abcdefabcdef';
      Object.assign(headers, signRequest({ method: 'GET', path, headers }, { accessKey, secretKey: 'NOT-THE-SECRET' }, { region: 'cn-north-1', date: now }));
      return { method: 'GET', rawUrl: path, headers, body: Buffer.alloc(0) };
    };
    const known = request('KNOWNAK');
    const unknown = request('UNKNOWNAK');
    const lookup = (ak: string): string | undefined => (ak === 'KNOWNAK' ? 'THE-SECRET' : undefined);
    const time = (req: ReceivedRequest): number => {
      const start = performance.now();
      for (let i = 0; i < 200; i++) expect(verifyRequest(req, lookup, { now }).ok).toBe(false);
      return performance.now() - start;
    };
    // Interleaved rounds, medians: the machine is shared, so single runs say little.
    const knownTimes: number[] = [];
    const unknownTimes: number[] = [];
    for (let round = 0; round < 20; round++) {
      // Alternate which goes first, so warm-up and garbage collection fall on both alike.
      if (round % 2) unknownTimes.push(time(unknown));
      knownTimes.push(time(known));
      if (!(round % 2)) unknownTimes.push(time(unknown));
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(unknownTimes) / median(knownTimes);
    // Skipping the canonical request and the HMAC for unknown keys made this ratio about 0.3.
    expect(ratio).toBeGreaterThan(0.5);
    expect(ratio).toBeLessThan(2);
  });
});
