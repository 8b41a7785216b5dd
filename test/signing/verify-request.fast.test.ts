import { describe, expect, it } from 'vitest';
import { SIGNATURE_MISMATCH, verifyRequest, type ReceivedRequest, type VerifyResult } from '../../src/signing/verify-request.ts';
import { DATE, GO_BACKEND_SIGN, JS_VECTORS, PY_VECTORS, type SignatureVector } from './signature-vectors.ts';

const SECRETS: Record<string, string> = { TESTAK: 'TESTSK', 'access key': 'secret key' };
const lookup = (ak: string): string | undefined => SECRETS[ak];

function received(v: SignatureVector, changes: Partial<ReceivedRequest> = {}): ReceivedRequest {
  return {
    method: v.method,
    rawUrl: v.rawUrl,
    headers: {
      ...v.headers,
      authorization: signRequestHeader(v),
      // What an HTTP stack adds on the way; never signed, must be ignored.
      'content-length': String(Buffer.byteLength(v.body)),
      connection: 'keep-alive',
    },
    body: Buffer.from(v.body, 'utf8'),
    ...changes,
  };
}

/** The Authorization header exactly as the vector's client sent it. */
function signRequestHeader(v: SignatureVector): string {
  const scope = `${v.headers['x-jdcloud-date']?.slice(0, 8)}/${v.region}/${v.service}/${v.version.toLowerCase()}_request`;
  return `${v.version}-HMAC-SHA256 Credential=${v.accessKey}/${scope}, SignedHeaders=${v.signedHeaders.join(';')}, Signature=${v.signature}`;
}

function verify(req: ReceivedRequest, now = DATE, service = 'redis'): VerifyResult {
  return verifyRequest(req, lookup, { now, service });
}

function expectFailure(result: VerifyResult, reason: RegExp): void {
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.reason).toMatch(reason);
}

const EX4 = JS_VECTORS[3] as SignatureVector;
const EX2 = JS_VECTORS[1] as SignatureVector;
const PY1 = PY_VECTORS[0] as SignatureVector;

describe('verifyRequest accepts every vector as sent', () => {
  for (const v of [...JS_VECTORS, ...PY_VECTORS]) {
    it(v.name, () => {
      expect(verify(received(v))).toEqual({
        ok: true,
        accessKey: 'TESTAK',
        region: 'cn-north-1',
        signature: v.signature,
        expiresAtMs: Date.parse('2024-01-02T03:04:05Z') + 15 * 60_000,
      });
    });
  }

  it(GO_BACKEND_SIGN.name, () => {
    const now = new Date('2019-02-14T10:45:14Z');
    expect(verify(received(GO_BACKEND_SIGN), now, 'test')).toMatchObject({
      ok: true,
      accessKey: 'access key',
      region: 'cn-north-1',
      signature: GO_BACKEND_SIGN.signature,
    });
  });
});

describe('verifyRequest: path forms and tampering', () => {
  it('accepts example 4 with a literal ":" instead of %3A', () => {
    const rawUrl = EX4.rawUrl.replace('%3A', ':');
    expect(rawUrl).toContain('redis-abc123xyz0:modify');
    expect(verify(received(EX4, { rawUrl })).ok).toBe(true);
  });

  it('accepts PY-1 with %3A instead of the literal ":" it was sent with', () => {
    expect(verify(received(PY1, { rawUrl: PY1.rawUrl.replace(':', '%3A') })).ok).toBe(true);
  });

  it('rejects example 4 when the body is re-serialized with one extra space', () => {
    const body = Buffer.from('{"cacheInstanceClass": "redis.m.small.basic"}');
    expect(JSON.parse(body.toString())).toEqual(JSON.parse(EX4.body));
    expectFailure(verify(received(EX4, { body })), /^sign result is not same/);
  });

  it('rejects example 2 with a tampered query', () => {
    expectFailure(verify(received(EX2, { rawUrl: EX2.rawUrl.replace('pageSize=20', 'pageSize=21') })), /^sign result is not same/);
  });

  it('accepts example 2 with its query items reordered (canonical query is sorted)', () => {
    const [path, query] = EX2.rawUrl.split('?') as [string, string];
    const reordered = query.split('&').reverse().join('&');
    expect(verify(received(EX2, { rawUrl: `${path}?${reordered}` })).ok).toBe(true);
  });

  it('rejects a tampered method and a tampered signed header', () => {
    expectFailure(verify(received(EX4, { method: 'PUT' })), /^sign result is not same/);
    const req = received(EX4);
    expectFailure(verify({ ...req, headers: { ...req.headers, host: 'evil.example' } }), /^sign result is not same/);
  });

  it('ignores changes to unsigned headers (PY-1 does not sign date and nonce)', () => {
    const req = received(PY1);
    expect(verify({ ...req, headers: { ...req.headers, 'user-agent': 'other', 'x-jdcloud-nonce': 'another' } }).ok).toBe(true);
  });

  it('rejects a wrong secret', () => {
    const req = received(EX4);
    const result = verifyRequest(req, () => 'WRONGSK', { now: DATE });
    expectFailure(result, /^sign result is not same/);
  });
});

describe('verifyRequest: each check names itself', () => {
  it('missing authorization header', () => {
    const req = received(EX4);
    const { authorization: _a, ...headers } = req.headers;
    expectFailure(verify({ ...req, headers }), /lack of header authorization/);
  });

  it('malformed authorization header', () => {
    const req = received(EX4);
    for (const bad of [
      'Bearer abc',
      'JDCLOUD2-HMAC-SHA256 Credential=TESTAK/20240102/cn-north-1/redis/jdcloud3_request, SignedHeaders=host, Signature=' + 'a'.repeat(64),
      'JDCLOUD2-HMAC-SHA256 Credential=TESTAK/20240102/cn-north-1/redis/jdcloud2_request, SignedHeaders=host, Signature=abc',
      'JDCLOUD2-HMAC-SHA256 Credential=TESTAK/20240102/cn-north-1/redis/jdcloud2_request, SignedHeaders=host;;x, Signature=' + 'a'.repeat(64),
    ]) {
      expectFailure(verify({ ...req, headers: { ...req.headers, authorization: bad } }), /^malformed authorization header/);
    }
  });

  it('an unknown access key gets exactly the answer of a wrong signature (no account-existence leak)', () => {
    const req = received(EX4);
    const authorization = (req.headers.authorization as string).replace('Credential=TESTAK/', 'Credential=NOPE/');
    const unknown = verify({ ...req, headers: { ...req.headers, authorization } });
    const wrong = verifyRequest(req, () => 'WRONGSK', { now: DATE });
    expect(unknown).toEqual({ ok: false, reason: SIGNATURE_MISMATCH });
    expect(wrong).toEqual(unknown);
  });

  it('scope date does not match x-jdcloud-date', () => {
    const req = received(EX4);
    const authorization = (req.headers.authorization as string).replace('/20240102/', '/20240103/');
    expectFailure(verify({ ...req, headers: { ...req.headers, authorization } }), /scope date 20240103 does not match x-jdcloud-date 20240102T030405Z/);
  });

  it('service in the scope is not redis', () => {
    expectFailure(verify(received(GO_BACKEND_SIGN), new Date('2019-02-14T10:45:14Z')), /service in the credential scope is "test", expected "redis"/);
  });

  it('missing or malformed x-jdcloud-date, missing nonce', () => {
    const req = received(EX4);
    const { 'x-jdcloud-date': _d, 'x-jdcloud-nonce': _n, ...rest } = req.headers;
    expectFailure(verify({ ...req, headers: { ...rest, 'x-jdcloud-nonce': 'n' } }), /lack of header x-jdcloud-date/);
    expectFailure(verify({ ...req, headers: { ...rest, 'x-jdcloud-nonce': 'n', 'x-jdcloud-date': '2024-01-02T03:04:05Z' } }), /not in the form/);
    expectFailure(verify({ ...req, headers: { ...rest, 'x-jdcloud-date': '20240102T030405Z' } }), /lack of header x-jdcloud-nonce/);
  });

  it('a signed header missing from the request', () => {
    const req = received(EX4);
    const { accept: _a, ...headers } = req.headers;
    expectFailure(verify({ ...req, headers }), /signed header\(s\) missing from the request: accept/);
  });

  it('clock skew: 15 minutes either way is accepted, more is not', () => {
    const minute = 60_000;
    expect(verify(received(EX4), new Date(DATE.getTime() + 14 * minute)).ok).toBe(true);
    expect(verify(received(EX4), new Date(DATE.getTime() - 14 * minute)).ok).toBe(true);
    expectFailure(verify(received(EX4), new Date(DATE.getTime() + 16 * minute)), /more than 15 minutes away from the server time/);
    expectFailure(verify(received(EX4), new Date(DATE.getTime() - 16 * minute)), /more than 15 minutes away/);
  });

  it('does no replay check of its own: the same request verifies twice with the same signature', () => {
    const first = verify(received(EX4));
    const second = verify(received(EX4));
    expect(first.ok && second.ok && first.signature === second.signature).toBe(true);
  });
});
