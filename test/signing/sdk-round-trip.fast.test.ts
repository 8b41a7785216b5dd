/**
 * The official jdcloud-sdk-js (the client the service must accept) talks to a tiny HTTP server that
 * verifies with our verifyRequest; our signer must also reproduce the SDK's Authorization header
 * byte for byte from the date and nonce the SDK chose.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalQuery, canonicalUri } from '../../src/signing/canonical-request.ts';
import { signRequest } from '../../src/signing/sign-request.ts';
import { verifyRequest, type VerifyResult } from '../../src/signing/verify-request.ts';
import { EDGE_CASES, EXAMPLE_2_LIST_PARAMS, splitUrl } from './signature-vectors.ts';

interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  verdict: VerifyResult;
}

type SdkCall = (opts: Record<string, unknown>, regionId?: string) => Promise<{ result?: unknown }>;
type SdkClient = Record<string, SdkCall>;
type SdkConstructor = new (options: Record<string, unknown>) => SdkClient;

const require = createRequire(import.meta.url);
// The SDK logs every request through its global config; keep test output readable.
(require('jdcloud-sdk-js/src/lib/core') as { config: { logger: () => void } }).config.logger = () => {};
const REDIS = require('jdcloud-sdk-js/src/services/redis') as SdkConstructor;

const SECRET = 'round-trip-secret';
let server: Server;
let port = 0;
let captured: Captured[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const verdict = verifyRequest(
        { method: req.method ?? '', rawUrl: req.url ?? '', headers: req.headers, body },
        (ak) => (ak === 'RTAK' ? SECRET : undefined),
        { now: new Date() },
      );
      captured.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, verdict });
      res.writeHead(verdict.ok ? 200 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify(verdict.ok ? { requestId: 'r', result: {} } : { requestId: 'r', error: { code: 401, status: 'ACCESS_ERROR', message: verdict.reason } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

function client(secret = SECRET): SdkClient {
  return new REDIS({
    credentials: { accessKeyId: 'RTAK', secretAccessKey: secret },
    regionId: 'cn-north-1',
    endpoint: { host: `127.0.0.1:${port}`, protocol: 'http' },
  });
}

async function callOnce(call: (c: SdkClient) => Promise<unknown>, secret?: string): Promise<Captured> {
  captured = [];
  await call(client(secret)).catch(() => undefined);
  expect(captured).toHaveLength(1);
  return captured[0] as Captured;
}

/** Re-signs what the SDK sent with our signer, using the SDK's own date and nonce. */
function resign(c: Captured, region: string): string {
  const { path, query } = splitUrl(c.url);
  const headers: Record<string, string> = {};
  for (const name of ['accept', 'content-type', 'host', 'user-agent', 'x-jdcloud-security-token']) {
    const value = c.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const date = c.headers['x-jdcloud-date'] as string;
  return signRequest(
    { method: c.method, path, query, headers, body: c.body.length > 0 ? c.body : undefined },
    { accessKey: 'RTAK', secretKey: SECRET },
    {
      region,
      date: new Date(date.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')),
      nonce: c.headers['x-jdcloud-nonce'] as string,
    },
  ).authorization;
}

const CALLS: { name: string; region: string; call: (c: SdkClient) => Promise<unknown> }[] = [
  { name: 'describeCacheInstance', region: 'cn-north-1', call: (c) => c.describeCacheInstance!({ cacheInstanceId: 'redis-abc123xyz0' }) },
  {
    name: 'describeCacheInstances with every kind of list parameter',
    region: 'cn-north-1',
    call: (c) =>
      c.describeCacheInstances!(EXAMPLE_2_LIST_PARAMS),
  },
  {
    name: 'createCacheInstance',
    region: 'cn-north-1',
    call: (c) =>
      c.createCacheInstance!({
        cacheInstance: {
          vpcId: 'vpc-abc123',
          subnetId: 'subnet-abc123',
          cacheInstanceName: 'test_redis',
          cacheInstanceClass: 'redis.m.micro.basic',
          password: 'Abcd1234',
          azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
          redisVersion: '4.0',
        },
        charge: { chargeMode: 'postpaid_by_duration' },
      }),
  },
  {
    name: 'modifyCacheInstanceClass (":" sent as %3A)',
    region: 'cn-north-1',
    call: (c) => c.modifyCacheInstanceClass!({ cacheInstanceId: 'redis-abc123xyz0', cacheInstanceClass: 'redis.m.small.basic' }),
  },
  { name: 'resetCacheInstancePassword with no password', region: 'cn-north-1', call: (c) => c.resetCacheInstancePassword!({ cacheInstanceId: 'redis-abc123xyz0' }) },
  { name: 'deleteCacheInstance', region: 'cn-north-1', call: (c) => c.deleteCacheInstance!({ cacheInstanceId: 'redis-doesnotexist' }) },
  {
    name: 'modifyCacheInstanceAttribute with a UTF-8 body',
    region: 'cn-north-1',
    call: (c) =>
      c.modifyCacheInstanceAttribute!({ cacheInstanceId: 'redis-abc123xyz0', cacheInstanceName: '测试_redis', cacheInstanceDescription: 'desc with spaces & symbols!' }),
  },
  {
    name: 'E1: special characters and skipped filter/tag/sort entries',
    region: 'cn-north-1',
    call: (c) =>
      c.describeCacheInstances!({
        filters: [
          { name: 'cacheInstanceName', values: ["a+b c/d&e=f'g(h)*!~", '中文'] },
          { name: '', values: ['skipped'] },
        ],
        tagFilters: [{ key: '' }, { key: 'k2' }, { key: 'k3', values: ['v'] }],
        sorts: [{ name: 'createTime', direction: 'asc' }, { name: 'skipped' }],
      }),
  },
  { name: 'E2: path parameter needing escaping', region: 'cn-north-1', call: (c) => c.describeCacheInstance!({ cacheInstanceId: 'redis-中 文' }) },
  {
    name: 'E3: region cn-south-1 and an extra signed header',
    region: 'cn-south-1',
    call: (c) => c.describeUserQuota!({ 'x-extra-header': { 'x-jdcloud-security-token': 'tok123' } }, 'cn-south-1'),
  },
  { name: 'E4: describeInstanceClass with a regionId override', region: 'cn-east-2', call: (c) => c.describeInstanceClass!({ redisVersion: '4.0' }, 'cn-east-2') },
];

describe('jdcloud-sdk-js and our signing agree', () => {
  for (const { name, region, call } of CALLS) {
    it(name, async () => {
      const c = await callOnce(call);
      expect(c.verdict).toMatchObject({ ok: true, accessKey: 'RTAK', region });
      expect(resign(c, region)).toBe(c.headers.authorization);
    });
  }

  it('the SDK puts the E1–E4 wire URLs on the wire, and we make them canonical as the SDK did', async () => {
    for (const e of EDGE_CASES) {
      const sdkCall = CALLS.find((c) => c.name.startsWith(e.name.slice(0, 3)));
      if (!sdkCall) throw new Error(`no SDK call for ${e.name}`);
      const c = await callOnce(sdkCall.call);
      expect(c.url).toBe(e.rawUrl);
      const { path, query } = splitUrl(c.url);
      expect(canonicalUri(path, 'JDCLOUD2')).toBe(e.canonicalPath);
      expect(canonicalQuery(query, 'JDCLOUD2')).toBe(e.canonicalQuery);
    }
  });

  it('the SDK with a wrong secret is refused with "sign result is not same"', async () => {
    const c = await callOnce((cl) => cl.describeUserQuota!({}), 'not-the-secret');
    expect(c.verdict.ok).toBe(false);
    if (!c.verdict.ok) expect(c.verdict.reason).toMatch(/^sign result is not same/);
  });
});
