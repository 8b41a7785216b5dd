/**
 * The vectors of /work/shared/reference/signature-vectors.md (computed by the official JS and Python
 * signers with a frozen clock and nonce) and the go-signer BackendSign cross-check of reference §2.6.
 */
import type { SigningVersion } from '../../src/signing/canonical-request.ts';

export interface SignatureVector {
  name: string;
  version: SigningVersion;
  method: string;
  /** Path and query exactly as on the wire. */
  rawUrl: string;
  /** Headers as sent (lower-case names), without authorization. */
  headers: Record<string, string>;
  body: string;
  signedHeaders: string[];
  accessKey: string;
  secretKey: string;
  region: string;
  service: string;
  /** Expected hex SHA-256 of the canonical request, where the vector gives it. */
  canonicalRequestHash?: string;
  signature: string;
}

export const DATE = new Date('2024-01-02T03:04:05.678Z');
export const JDCLOUD_DATE = '20240102T030405Z';
export const NONCE = 'ed558a3b-9808-4edb-8597-187bda63a4f2';

const JS_SIGNED = ['accept', 'content-type', 'host', 'x-jdcloud-date', 'x-jdcloud-nonce'];

/** The headers the JS SDK sends (user-agent is sent but not signed). */
function jsHeaders(): Record<string, string> {
  return {
    'user-agent': 'JdcloudSdkNode/1.0.0  redis/2.6.24',
    accept: 'application/json',
    'content-type': 'application/json',
    host: 'redis.jdcloud-api.com',
    'x-jdcloud-date': JDCLOUD_DATE,
    'x-jdcloud-nonce': NONCE,
  };
}

function jsVector(
  name: string,
  method: string,
  rawUrl: string,
  body: string,
  canonicalRequestHash: string,
  signature: string,
): SignatureVector {
  return {
    name,
    version: 'JDCLOUD2',
    method,
    rawUrl,
    headers: jsHeaders(),
    body,
    signedHeaders: JS_SIGNED,
    accessKey: 'TESTAK',
    secretKey: 'TESTSK',
    region: 'cn-north-1',
    service: 'redis',
    canonicalRequestHash,
    signature,
  };
}

/** The describeCacheInstances call behind example 2 (reference §2.6), as a caller passes it to the SDK. */
export const EXAMPLE_2_LIST_PARAMS = {
  pageNumber: 1,
  pageSize: 20,
  filters: [
    { name: 'cacheInstanceStatus', values: ['running', 'error'] },
    { name: 'cacheInstanceName', values: ['my redis*'] },
    { name: 'ignoredBecauseEmpty', values: [] },
    { name: 'redisVersion', values: ['4.0'], operator: 'eq' },
  ],
  sorts: [{ name: 'createTime', direction: 'desc' as const }],
  tagFilters: [{ key: 'env', values: ['prod', 'staging'] }],
  resourceGroupIds: ['rg-1', 'rg-2'],
};

export const JS_VECTORS: SignatureVector[] = [
  jsVector(
    'example 1: describeCacheInstance (GET)',
    'GET',
    '/v1/regions/cn-north-1/cacheInstance/redis-abc123xyz0',
    '',
    '0c232bcb25c3ae005a013c2b8b0c9a670c02ac947e267166266407fd69930471',
    '24db57271177266df022fd98796e63f3514beb044c471adfb1b23c9b466b25a5',
  ),
  jsVector(
    'example 2: describeCacheInstances (GET with filters, sorts, tagFilters, resourceGroupIds)',
    'GET',
    '/v1/regions/cn-north-1/cacheInstance?pageNumber=1&pageSize=20&filters.1.name=cacheInstanceStatus&filters.1.values.1=running&filters.1.values.2=error&filters.2.name=cacheInstanceName&filters.2.values.1=my%20redis*&filters.3.name=redisVersion&filters.3.values.1=4.0&filters.3.operator=eq&tagFilters.1.key=env&tagFilters.1.values.1=prod&tagFilters.1.values.2=staging&sorts.1.name=createTime&sorts.1.direction=desc&resourceGroupIds.1=rg-1&resourceGroupIds.2=rg-2',
    '',
    '51abdb1b9b6909bff4891ed002470e56784759fe26d5dbe8ecc4d01ff94a63d8',
    '0a768b6bdaf63f6d15f47dae92e85601068fa19660669284df8887ba03b43331',
  ),
  jsVector(
    'example 3: createCacheInstance (POST)',
    'POST',
    '/v1/regions/cn-north-1/cacheInstance',
    '{"cacheInstance":{"vpcId":"vpc-abc123","subnetId":"subnet-abc123","cacheInstanceName":"test_redis","cacheInstanceClass":"redis.m.micro.basic","password":"Abcd1234","azId":{"master":"cn-north-1a","slave":"cn-north-1b"},"redisVersion":"4.0"},"charge":{"chargeMode":"postpaid_by_duration"}}',
    'c3b716d13a0fdb949874dc74f390b6c8e3260ae51902017b701f7ccd149888b2',
    'e14f6fe509fb334207e45d2193753671dd862180e467da8763b5ca7b09ee8a91',
  ),
  jsVector(
    'example 4: modifyCacheInstanceClass (POST to a :action path)',
    'POST',
    '/v1/regions/cn-north-1/cacheInstance/redis-abc123xyz0%3AmodifyCacheInstanceClass',
    '{"cacheInstanceClass":"redis.m.small.basic"}',
    '6df057d4698805028076288168734476d40d6bd10881499b867e75bc76ac81ab',
    'e93e46e4e6a9c03257be934b455514dd24e2f489b52ab71716ea2bd82cb18bd7',
  ),
  jsVector(
    'example 5: resetCacheInstancePassword with body {}',
    'POST',
    '/v1/regions/cn-north-1/cacheInstance/redis-abc123xyz0%3AresetCacheInstancePassword',
    '{}',
    'eefd755627195502e9c88925b6ba8ce75e09d51a988bffb6e4d98debf01bfc9a',
    '89011398a19e93282a965f2e68bd0127ea71e6bf72d3b3df22e8a72bf7314967',
  ),
  jsVector(
    'example 6: deleteCacheInstance (DELETE)',
    'DELETE',
    '/v1/regions/cn-north-1/cacheInstance/redis-doesnotexist',
    '',
    '1548b5bdf96b35824fbc75f5103052ef63d0fb3c9a6f25195c1c92d5617d86ef',
    'a49f989320ba0847f740a19628f925bea85ead83cf1d4b455a5204abe8c3bad8',
  ),
  jsVector(
    'example 7: modifyCacheInstanceAttribute (PATCH, UTF-8 body)',
    'PATCH',
    '/v1/regions/cn-north-1/cacheInstance/redis-abc123xyz0',
    '{"cacheInstanceName":"测试_redis","cacheInstanceDescription":"desc with spaces & symbols!"}',
    '23556351fc3f427cf619675b4f8054ee605a798c730976d99f08937dcce96719',
    '251bd3296bd9c66b0753939ec80db35f9a451c26df5a20091180f36e499c0047',
  ),
];

/** Python SDK headers: date and nonce are sent but not signed; plus its unsigned extras. */
function pythonHeaders(bodySha256: string): Record<string, string> {
  return {
    'user-agent': 'JdcloudSdkPython/1.2.9 redis/x',
    'content-type': 'application/json',
    host: 'redis.jdcloud-api.com',
    'x-jdcloud-date': JDCLOUD_DATE,
    'x-jdcloud-content-sha256': bodySha256,
    'jdcloud3-hmac-sha256': 'JDCLOUD3-HMAC-SHA256',
    'x-jdcloud-nonce': NONCE,
  };
}

export const PY_VECTORS: SignatureVector[] = [
  {
    name: 'PY-1: modifyCacheInstanceClass (POST, JDCLOUD3, raw ":" in the path)',
    version: 'JDCLOUD3',
    method: 'POST',
    rawUrl: '/v1/regions/cn-north-1/cacheInstance/redis-abc123xyz0:modifyCacheInstanceClass',
    headers: pythonHeaders('d3259a03ad8891aebf8a9efd5eec7b217000970f42eb5cfeaf667df3f8fbedff'),
    body: '{"regionId": "cn-north-1", "cacheInstanceId": "redis-abc123xyz0", "cacheInstanceClass": "redis.m.small.basic", "shardNumber": null, "replicaNumber": null, "replicaAzs2Add": null, "parallel": null, "effectiveTime": null}',
    signedHeaders: ['content-type', 'host'],
    accessKey: 'TESTAK',
    secretKey: 'TESTSK',
    region: 'cn-north-1',
    service: 'redis',
    canonicalRequestHash: '3ad893bae3260a03f39f670b738892d2a39e0131ef80a9bb13997dad4e897004',
    signature: 'a554f5fd22910ed435571661fb240cfdb9a971ca4aa1f09f9d4df38d02ba31af',
  },
  {
    name: 'PY-2: describeCacheInstances (GET with filters, JDCLOUD3)',
    version: 'JDCLOUD3',
    method: 'GET',
    rawUrl:
      '/v1/regions/cn-north-1/cacheInstance?pageNumber=1&pageSize=20&filters.1.name=cacheInstanceStatus&filters.1.values.1=running&filters.1.values.2=error&filters.2.name=cacheInstanceName&filters.2.values.1=my%20redis%2A&sorts.1.name=createTime&sorts.1.direction=desc',
    headers: pythonHeaders('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
    body: '',
    signedHeaders: ['content-type', 'host'],
    accessKey: 'TESTAK',
    secretKey: 'TESTSK',
    region: 'cn-north-1',
    service: 'redis',
    canonicalRequestHash: 'f6515446d083383490a5cb799fe08a25d981d8a42041131a887a26875cf2d5b6',
    signature: 'e9755c6d0ca197135a51c7fafc8d73e1b2770cf4cd024b4b4476e85f75da458c',
  },
];

/** jdcloud-api/jdcloud-sdk-go-signer BackendSign test (reference §2.6, "External cross-check"). */
export const GO_BACKEND_SIGN: SignatureVector = {
  name: 'go-signer BackendSign (PATCH, service "test", nonce with a space)',
  version: 'JDCLOUD2',
  method: 'PATCH',
  rawUrl: '/v1/region/cn-north-1/test?filters.1.name=id&filters.1.values.1=v1&filters.1.values.2=v2',
  headers: {
    'content-type': 'application/json',
    host: 'test.cn-north-1.jdcloud-api.net',
    'x-jdcloud-date': '20190214T104514Z',
    'x-jdcloud-nonce': 'test nonce',
  },
  body: 'this is body',
  signedHeaders: ['content-type', 'x-jdcloud-date', 'x-jdcloud-nonce'],
  accessKey: 'access key',
  secretKey: 'secret key',
  region: 'cn-north-1',
  service: 'test',
  signature: '1912eba02012ce6eb482302bae29cfa8e721ad66c188c533f9070e69aad2c896',
};

/** Canonical path and query of the JDCLOUD2 edge cases E1–E4 (the vectors give no signature for them). */
export const EDGE_CASES = [
  {
    name: 'E1: special characters, skipped filter/tag/sort entries',
    rawUrl:
      "/v1/regions/cn-north-1/cacheInstance?filters.1.name=cacheInstanceName&filters.1.values.1=a%2Bb%20c%2Fd%26e%3Df%27g(h)*!~&filters.1.values.2=%E4%B8%AD%E6%96%87&tagFilters.2.key=k2&tagFilters.3.key=k3&tagFilters.3.values.1=v&sorts.1.name=createTime&sorts.1.direction=asc",
    canonicalPath: '/v1/regions/cn-north-1/cacheInstance',
    canonicalQuery:
      'filters.1.name=cacheInstanceName&filters.1.values.1=a%2Bb%20c%2Fd%26e%3Df%27g%28h%29%2A%21~&filters.1.values.2=%E4%B8%AD%E6%96%87&sorts.1.direction=asc&sorts.1.name=createTime&tagFilters.2.key=k2&tagFilters.3.key=k3&tagFilters.3.values.1=v',
  },
  {
    name: 'E2: path parameter needing escaping',
    rawUrl: '/v1/regions/cn-north-1/cacheInstance/redis-%E4%B8%AD%20%E6%96%87',
    canonicalPath: '/v1/regions/cn-north-1/cacheInstance/redis-%E4%B8%AD%20%E6%96%87',
    canonicalQuery: '',
  },
  {
    name: 'E3: custom endpoint with port, region cn-south-1',
    rawUrl: '/v1/regions/cn-south-1/quota',
    canonicalPath: '/v1/regions/cn-south-1/quota',
    canonicalQuery: '',
  },
  {
    name: 'E4: describeInstanceClass with regionId override',
    rawUrl: '/v1/regions/cn-east-2/instanceClass?redisVersion=4.0',
    canonicalPath: '/v1/regions/cn-east-2/instanceClass',
    canonicalQuery: 'redisVersion=4.0',
  },
];

/** Splits a wire URL into path and query (without `?`). */
export function splitUrl(rawUrl: string): { path: string; query: string } {
  const i = rawUrl.indexOf('?');
  return i < 0 ? { path: rawUrl, query: '' } : { path: rawUrl.slice(0, i), query: rawUrl.slice(i + 1) };
}
