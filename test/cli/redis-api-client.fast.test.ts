import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, ConnectionError } from '../../src/client/api-error.ts';
import { encodeQuery, flattenDescribeQuery } from '../../src/client/flatten-query.ts';
import { RedisApiClient } from '../../src/client/redis-api-client.ts';
import { JS_VECTORS, EDGE_CASES, EXAMPLE_2_LIST_PARAMS, splitUrl, type SignatureVector } from '../signing/signature-vectors.ts';
import { closedPort, instanceBody, startStubServer, STUB_AK, STUB_SK, type StubServer } from './stub-api-server.ts';

let stub: StubServer;
let client: RedisApiClient;

beforeAll(async () => {
  stub = await startStubServer();
  client = new RedisApiClient({ endpoint: stub.url, accessKey: STUB_AK, secretKey: STUB_SK, region: 'cn-north-1' });
});
afterAll(() => stub.close());
beforeEach(() => {
  stub.requests = [];
  stub.handler = () => ({ body: { requestId: 'req-1', result: { ok: true } } });
});

describe('query flattening matches jdcloud-sdk-js on the wire', () => {
  it('example 2: paging, filters (empty one dropped and renumbered), tagFilters, sorts, resourceGroupIds', () => {
    const query = encodeQuery(
      flattenDescribeQuery(EXAMPLE_2_LIST_PARAMS),
    );
    expect(query).toBe(splitUrl((JS_VECTORS[1] as SignatureVector).rawUrl).query);
  });

  it('E1: special characters kept as the SDK sends them; tag filters keep their position', () => {
    const query = encodeQuery(
      flattenDescribeQuery({
        filters: [
          { name: 'cacheInstanceName', values: ["a+b c/d&e=f'g(h)*!~", '中文'] },
          { name: '', values: ['skipped'] },
        ],
        tagFilters: [{ key: '' }, { key: 'k2' }, { key: 'k3', values: ['v'] }],
        sorts: [
          { name: 'createTime', direction: 'asc' },
          { name: '', direction: 'asc' },
        ],
      }),
    );
    expect(query).toBe(splitUrl(EDGE_CASES[0]!.rawUrl).query);
  });
});

describe('RedisApiClient', () => {
  it('sends each operation to its path with the SDK body, signed so the verifier accepts it', async () => {
    await client.createCacheInstance({
      vpcId: 'v',
      subnetId: 's',
      cacheInstanceName: 'demo',
      cacheInstanceClass: 'redis.m.micro.basic',
      azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
      password: undefined,
    });
    await client.describeCacheInstance('redis-abc');
    await client.describeCacheInstances({ pageNumber: 2, filters: [{ name: 'cacheInstanceStatus', values: ['running'] }] });
    await client.describeInstanceClass('4.0');
    await client.describeUserQuota();
    await client.modifyCacheInstanceAttribute('redis-abc', { cacheInstanceName: 'n2' });
    await client.modifyCacheInstanceClass('redis-abc', { cacheInstanceClass: 'redis.m.small.basic' });
    await client.resetCacheInstancePassword('redis-abc');
    await client.resetCacheInstancePassword('redis-abc', 'Passw0rd1');
    await client.deleteCacheInstance('redis-abc');
    expect(stub.requests.map((r) => [r.method, r.url, r.body])).toEqual([
      [
        'POST',
        '/v1/regions/cn-north-1/cacheInstance',
        '{"cacheInstance":{"vpcId":"v","subnetId":"s","cacheInstanceName":"demo","cacheInstanceClass":"redis.m.micro.basic","azId":{"master":"cn-north-1a","slave":"cn-north-1b"}}}',
      ],
      ['GET', '/v1/regions/cn-north-1/cacheInstance/redis-abc', ''],
      ['GET', '/v1/regions/cn-north-1/cacheInstance?pageNumber=2&filters.1.name=cacheInstanceStatus&filters.1.values.1=running', ''],
      ['GET', '/v1/regions/cn-north-1/instanceClass?redisVersion=4.0', ''],
      ['GET', '/v1/regions/cn-north-1/quota', ''],
      ['PATCH', '/v1/regions/cn-north-1/cacheInstance/redis-abc', '{"cacheInstanceName":"n2"}'],
      ['POST', '/v1/regions/cn-north-1/cacheInstance/redis-abc%3AmodifyCacheInstanceClass', '{"cacheInstanceClass":"redis.m.small.basic"}'],
      ['POST', '/v1/regions/cn-north-1/cacheInstance/redis-abc%3AresetCacheInstancePassword', '{}'],
      ['POST', '/v1/regions/cn-north-1/cacheInstance/redis-abc%3AresetCacheInstancePassword', '{"password":"Passw0rd1"}'],
      ['DELETE', '/v1/regions/cn-north-1/cacheInstance/redis-abc', ''],
    ]);
    for (const r of stub.requests) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers.authorization).toMatch(/SignedHeaders=accept;content-type;host;x-jdcloud-date;x-jdcloud-nonce,/);
    }
  });

  it('returns the result of the envelope, and {} when there is none', async () => {
    stub.handler = () => ({ body: { requestId: 'r', result: { cacheInstance: instanceBody('redis-abc', 'running') } } });
    expect((await client.describeCacheInstance('redis-abc')).cacheInstance.cacheInstanceStatus).toBe('running');
    stub.handler = () => ({ body: { requestId: 'r' } });
    expect(await client.deleteCacheInstance('redis-abc')).toEqual({});
  });

  it('signs with the configured region and keeps an endpoint path prefix', async () => {
    const other = new RedisApiClient({ endpoint: `${stub.url}/prefix/`, accessKey: STUB_AK, secretKey: STUB_SK, region: 'cn-east-2' });
    await other.describeUserQuota();
    expect(stub.requests[0]).toMatchObject({ url: '/prefix/v1/regions/cn-east-2/quota', region: 'cn-east-2' });
  });

  it('turns the error envelope into an ApiError with status, code, message and requestId', async () => {
    stub.handler = () => ({ status: 404, body: { requestId: 'req-404', error: { code: 404, status: 'NOT_FOUND', message: 'cacheInstance redis-x not found' } } });
    const err = await client.describeCacheInstance('redis-x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ httpStatus: 404, status: 'NOT_FOUND', message: 'cacheInstance redis-x not found', requestId: 'req-404' });
  });

  it('reports a wrong secret as the service\'s ACCESS_ERROR', async () => {
    const wrong = new RedisApiClient({ endpoint: stub.url, accessKey: STUB_AK, secretKey: 'nope', region: 'cn-north-1' });
    await expect(wrong.describeUserQuota()).rejects.toMatchObject({ httpStatus: 401, status: 'ACCESS_ERROR', message: expect.stringMatching(/^sign result is not same/) });
  });

  it('turns a non-JSON answer into an ApiError, whatever the HTTP status', async () => {
    stub.handler = () => ({ status: 502, body: '<html>Bad Gateway</html>' });
    await expect(client.describeUserQuota()).rejects.toMatchObject({ httpStatus: 502, status: 'HTTP_502', message: '<html>Bad Gateway</html>' });
    stub.handler = () => ({ status: 200, body: 'not json' });
    await expect(client.describeUserQuota()).rejects.toMatchObject({ status: 'INVALID_RESPONSE' });
  });

  it('reports an unreachable service as a ConnectionError', async () => {
    const port = await closedPort();
    const down = new RedisApiClient({ endpoint: `http://127.0.0.1:${port}`, accessKey: 'a', secretKey: 'b', region: 'cn-north-1' });
    const err = await down.describeUserQuota().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toMatch(new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  });

  it('reports a service that does not answer in time as a ConnectionError', async () => {
    const hanging = new RedisApiClient({
      endpoint: stub.url,
      accessKey: STUB_AK,
      secretKey: STUB_SK,
      region: 'cn-north-1',
      timeoutMs: 50,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error))),
    });
    await expect(hanging.describeUserQuota()).rejects.toThrow(/no answer from .* in time/);
  });

  it('refuses a non-http endpoint', () => {
    expect(() => new RedisApiClient({ endpoint: 'ftp://x', accessKey: 'a', secretKey: 'b', region: 'r' })).toThrow(/http/);
  });
});
