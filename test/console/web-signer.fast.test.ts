/**
 * The console's browser signer (console/src/api/web-signer.ts, WebCrypto) against the reference
 * vectors of the official JS SDK, and against the service's own verifier for requests the console
 * makes (awkward names, the samples path). Node's WebCrypto is the same API the browser has.
 */
import { describe, expect, it } from 'vitest';
import { deriveSigningKey, signWebRequest } from '../../console/src/api/web-signer.ts';
import { flattenDescribeQuery } from '../../src/client/flatten-query.ts';
import { verifyRequest } from '../../src/signing/verify-request.ts';
import { DATE, EXAMPLE_2_LIST_PARAMS, JS_VECTORS, NONCE } from '../signing/signature-vectors.ts';

const keyFor = (secret: string, region: string) => (date8: string) => deriveSigningKey(secret, date8, region);

function decodedParts(rawUrl: string): { segments: string[]; query: [string, string][] } {
  const [path = '', query = ''] = rawUrl.split('?');
  return {
    segments: path.split('/').slice(1).map(decodeURIComponent),
    query: query ? query.split('&').map((p) => p.split('=').map(decodeURIComponent) as [string, string]) : [],
  };
}

describe('web signer', () => {
  for (const v of JS_VECTORS.filter((x) => x.signedHeaders.join(';') === 'accept;content-type;host;x-jdcloud-date;x-jdcloud-nonce')) {
    it(`reproduces ${v.name}`, async () => {
      const signed = await signWebRequest({ method: v.method, ...decodedParts(v.rawUrl), host: v.headers.host!, body: v.body, date: DATE, nonce: NONCE }, v.accessKey, v.region, keyFor(v.secretKey, v.region));
      expect(signed.headers.authorization).toBe(
        `JDCLOUD2-HMAC-SHA256 Credential=TESTAK/20240102/cn-north-1/redis/jdcloud2_request, SignedHeaders=accept;content-type;host;x-jdcloud-date;x-jdcloud-nonce, Signature=${v.signature}`,
      );
    });
  }

  it('signs the list query the console builds like the SDK signs example 2', async () => {
    const v = JS_VECTORS.find((x) => x.name.startsWith('example 2'))!;
    const signed = await signWebRequest(
      { method: 'GET', segments: ['v1', 'regions', 'cn-north-1', 'cacheInstance'], query: flattenDescribeQuery(EXAMPLE_2_LIST_PARAMS), host: 'redis.jdcloud-api.com', body: '', date: DATE, nonce: NONCE },
      'TESTAK',
      'cn-north-1',
      keyFor('TESTSK', 'cn-north-1'),
    );
    expect(signed.headers.authorization).toContain(`Signature=${v.signature}`);
  });

  it('makes requests the service verifies, with awkward names and the samples path; a wrong secret fails', async () => {
    const now = new Date();
    const cases = [
      { method: 'PATCH', segments: ['v1', 'regions', 'cn-north-1', 'cacheInstance', 'redis-abc'], query: [] as [string, string][], body: JSON.stringify({ cacheInstanceName: "名前 *!'()~" }) },
      { method: 'GET', segments: ['v1', 'regions', 'cn-north-1', 'cacheInstance'], query: flattenDescribeQuery({ filters: [{ name: 'cacheInstanceName', values: ["a b*!'()&=+%"] }] }), body: '' },
      { method: 'POST', segments: ['v1', 'regions', 'cn-north-1', 'cacheInstance', 'redis-abc:resetCacheInstancePassword'], query: [] as [string, string][], body: '{}' },
      { method: 'GET', segments: ['jcs', 'v1', 'regions', 'cn-north-1', 'cacheInstance', 'redis-abc', 'samples'], query: [['sinceMs', '1700000000000']] as [string, string][], body: '' },
    ];
    for (const c of cases) {
      for (const [secret, ok] of [['SK-right', true], ['SK-wrong', false]] as const) {
        const signed = await signWebRequest({ ...c, host: '127.0.0.1:8000', date: now, nonce: crypto.randomUUID() }, 'AK', 'cn-north-1', keyFor(secret, 'cn-north-1'));
        const result = verifyRequest(
          { method: c.method, rawUrl: signed.pathAndQuery, headers: { ...signed.headers, host: '127.0.0.1:8000' }, body: Buffer.from(c.body) },
          (ak) => (ak === 'AK' ? 'SK-right' : undefined),
          { now },
        );
        expect({ url: signed.pathAndQuery, ok: result.ok }).toEqual({ url: signed.pathAndQuery, ok });
      }
    }
  });

  it('keeps the derived key out of reach: it cannot be exported', async () => {
    const key = await deriveSigningKey('secret', '20240102', 'cn-north-1');
    expect(key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', key)).rejects.toThrow();
  });
});
