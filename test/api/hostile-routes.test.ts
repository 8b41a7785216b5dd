/**
 * Hostile input on every operation of JD's Redis API, against the real service and store: huge and
 * non-finite numbers, deep JSON, bodies that are not objects, junk query keys, long or odd path
 * parameters. Every answer is a JD envelope with the x-jdcloud-request-id header and a 4xx, except the
 * deliberate 501 of an operation not implemented (or a 200 where the operation takes no such
 * parameter and ignores it); never a 500. (An over-long URL: test/security/hostile-input.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JD_OPERATIONS } from '../../src/api/jd-operations.ts';
import { signedFetch, type CallResult } from '../helpers/signed-fetch.ts';
import { startTestService, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
beforeAll(async () => {
  svc = await startTestService({ instancePorts: '27200-27249' });
});
afterAll(async () => {
  await svc?.destroy();
});

const QUERIES = [
  'pageNumber=1e400&pageSize=1e400',
  'pageNumber=100000000000000000&pageSize=-5',
  'pageNumber=NaN&pageSize=Infinity',
  'filters.1.name=cacheInstanceStatus&filters.1.values.99999999999999999999=running&filters.1.operator=ge',
  'filters.99999999999999999999.name=redisVersion&filters.99999999999999999999.values.1=1e400&filters.99999999999999999999.operator=lt',
  'sorts.1.name=totalMemory&sorts.1.direction=sideways&resourceGroupIds.1=',
  `resourceGroupIds.1=${'r'.repeat(300)}&redisVersion=${'9'.repeat(50)}&taskType=%00&date=0000-99-99&baseId=%FF`,
  'filters.1.name=redisVersion&filters.1.values.1=%00&filters.1.operator=gt',
];

const BODIES = [
  `{"a":${'['.repeat(3_000)}${']'.repeat(3_000)}}`,
  '[]',
  '"a string"',
  '12e400',
  '{"cacheInstanceClass":1e400,"shardNumber":1e400,"password":{"$gt":""},"ipWhiteList":"0.0.0.0/0"}',
  '{"cacheInstance":{"cacheInstanceName":null,"azId":[],"port":1e400},"charge":{"chargeDuration":-1e400}}',
  '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}',
  '{not json',
];

/** Path parameters as an attacker would fill them. */
const IDS = ['redis-aaaaaaaaaaaa', `redis-${'z'.repeat(90)}`, '%F0%9F%92%A5', '..%2F..%2Fetc'];

function expectNo5xx(res: CallResult, opName: string, implemented: boolean, what: string): void {
  const label = `${opName} ${what}: ${res.status} ${res.text.slice(0, 200)}`;
  if (res.status === 501) expect(implemented, label).toBe(false);
  else expect(res.status, label).toBeLessThan(500);
  expect(res.json?.requestId, label).toMatch(/^[a-z0-9]{32}$/);
  expect(res.headers.get('x-jdcloud-request-id'), label).toBe(res.json.requestId);
  // An operation that takes no such parameter may ignore it and answer 200, as JD's gateway does.
  if (res.status >= 400) expect(res.json.error.code, label).toBe(res.status);
  else expect(res.status, label).toBe(200);
}

const implementedOps = new Set<string>();

describe('every operation refuses hostile input with a JD 4xx', () => {
  it('knows which operations are implemented (not 501)', async () => {
    for (const op of JD_OPERATIONS) {
      const path = op.path.replace('{regionId}', 'cn-north-1').replace('{cacheInstanceId}', 'redis-aaaaaaaaaaaa').replace('{taskId}', 't').replace(':', '%3A');
      const res = await signedFetch(svc.url, { method: op.method, path, ...(op.method === 'POST' || op.method === 'PATCH' ? { body: {} } : {}) });
      expect(res.status === 501 || res.status < 500, `${op.name}: ${res.status} ${res.text}`).toBe(true);
      if (res.status !== 501) implementedOps.add(op.name);
    }
    expect(implementedOps.size).toBeGreaterThanOrEqual(14);
  });

  for (const op of JD_OPERATIONS) {
    it(`${op.name}`, async () => {
      const implemented = implementedOps.has(op.name);
      for (const id of IDS) {
        const path = op.path.replace('{regionId}', 'cn-north-1').replace('{cacheInstanceId}', id).replace('{taskId}', id).replace(':', '%3A');
        if (op.method === 'GET' || op.method === 'DELETE') {
          for (const query of QUERIES) expectNo5xx(await signedFetch(svc.url, { method: op.method, path, query }), op.name, implemented, `${id} ?${query}`);
        } else {
          for (const body of BODIES) expectNo5xx(await signedFetch(svc.url, { method: op.method, path, body }), op.name, implemented, `${id} ${body.slice(0, 60)}`);
        }
      }
    });
  }
});
