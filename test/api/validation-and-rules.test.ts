/**
 * Every validation rule of reference §4, tenancy, quota and the lifecycle refusals, against the real
 * service. A rejected request must name the field and the rule, and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { sdkError } from '../helpers/sdk-client.ts';
import { signedFetch } from '../helpers/signed-fetch.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
const CREATE = '/v1/regions/cn-north-1/cacheInstance';

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '18200-18299', env: { JCS_QUOTA: '3' } });
});
afterAll(async () => {
  await svc?.destroy();
});

async function rowCount(): Promise<number> {
  const r = await svc.db.selectFrom('instances').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}

describe('createCacheInstance validation', () => {
  const cases: [string, Record<string, unknown>, Record<string, unknown> | undefined, RegExp][] = [
    ['name too short', { cacheInstanceName: 'a' }, undefined, /cacheInstance\.cacheInstanceName: must be 2 to 32/],
    ['name too long', { cacheInstanceName: 'a'.repeat(33) }, undefined, /cacheInstanceName: must be 2 to 32/],
    ['name with a dash', { cacheInstanceName: 'my-redis' }, undefined, /cacheInstanceName: must be 2 to 32 characters: letters, digits, _ or Chinese/],
    ['description too long', { cacheInstanceDescription: 'x'.repeat(257) }, undefined, /cacheInstanceDescription: must be at most 256/],
    ['password too short', { password: 'Abc1234' }, undefined, /password: must be 8 to 16 letters and digits/],
    ['password too long', { password: 'A'.repeat(17) }, undefined, /password: must be 8 to 16/],
    ['password with a symbol', { password: 'Abcd1234!' }, undefined, /password: must be 8 to 16/],
    ['missing vpcId', { vpcId: undefined }, undefined, /cacheInstance\.vpcId: required/],
    ['missing azId', { azId: undefined }, undefined, /cacheInstance\.azId: required/],
    ['unknown zone', { azId: { master: 'cn-north-1z', slave: 'cn-north-1a' } }, undefined, /cacheInstance\.azId\.master: unknown zone "cn-north-1z"/],
    ['zone of another region', { azId: { master: 'cn-north-1a', slave: 'cn-east-2a' } }, undefined, /azId\.slave: unknown zone/],
    ['unknown class', { cacheInstanceClass: 'redis.x.huge' }, undefined, /cacheInstanceClass: unknown instance class "redis.x.huge"/],
    ['class of another version', { cacheInstanceClass: 'redis.m1.micro.basic', redisVersion: '4.0' }, undefined, /not available for redisVersion 4\.0/],
    ['shard count a proxy-cluster class does not offer', { cacheInstanceClass: 'redis.s.small.basic', shardNumber: 3 }, undefined, /cacheInstance\.shardNumber: 3 shards is not offered for redis\.s\.small\.basic; allowed: 2, 4, 8/],
    ['unknown version', { redisVersion: '9.9' }, undefined, /redisVersion: unsupported version "9.9"/],
    ['shardNumber on master-slave', { shardNumber: 2 }, undefined, /shardNumber: must be 1/],
    ['dbNum out of range', { dbNum: 8 }, undefined, /dbNum: must be an integer from 16 to 256/],
    ['bad eviction policy', { maxmemoryPolicy: 'evict-everything' }, undefined, /maxmemoryPolicy: must be a Redis eviction policy/],
    ['type mismatch', { cacheInstanceType: 'native-cluster' }, undefined, /cacheInstanceType: "native-cluster" does not match/],
    ['port outside the range', { port: 80 }, undefined, /cacheInstance\.port: must be within 18200-18299/],
    ['unknown charge mode', {}, { chargeMode: 'free' }, /charge\.chargeMode: must be one of prepaid_by_duration/],
    ['prepaid without duration', {}, { chargeMode: 'prepaid_by_duration' }, /charge\.chargeDuration: required when chargeMode is prepaid_by_duration/],
    ['prepaid 10 months', {}, { chargeMode: 'prepaid_by_duration', chargeUnit: 'month', chargeDuration: 10 }, /charge\.chargeDuration: must be 1 to 9 when chargeUnit is month, got 10/],
    ['prepaid 4 years', {}, { chargeMode: 'prepaid_by_duration', chargeUnit: 'year', chargeDuration: 4 }, /chargeDuration: must be 1 to 3 when chargeUnit is year/],
    ['bad charge unit', {}, { chargeMode: 'prepaid_by_duration', chargeUnit: 'week', chargeDuration: 1 }, /charge\.chargeUnit: must be month or year/],
  ];
  for (const [name, spec, charge, message] of cases) {
    it(`refuses ${name}, naming the field and the rule`, async () => {
      const before = await rowCount();
      const body: Record<string, unknown> = { cacheInstance: msSpec(spec) };
      if (charge) body.charge = charge;
      const res = await signedFetch(svc.url, { method: 'POST', path: CREATE, body });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(res.json.error.message).toMatch(message);
      expect(await rowCount()).toBe(before);
    });
  }

  it('refuses a body without cacheInstance', async () => {
    const res = await signedFetch(svc.url, { method: 'POST', path: CREATE, body: { charge: {} } });
    expect(res.json.error.message).toMatch(/cacheInstance: required/);
  });

  it('refuses a taken port with ALREADY_EXISTS and keeps nothing', async () => {
    const sdk = svc.sdk();
    const a = await sdk.createCacheInstance({ cacheInstance: msSpec({ port: 18250 }) });
    const id = a.result.cacheInstanceId as string;
    expect((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port).toBe(18250);
    const before = await rowCount();
    const err = await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec({ port: 18250 }) }));
    expect(err).toMatchObject({ code: 409, status: 'ALREADY_EXISTS' });
    expect(await rowCount()).toBe(before);
    await waitForStatus(sdk, id, ['running']);
    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    await waitForStatus(sdk, id, ['gone']);
  });
});

describe('other operations validate too', () => {
  it('describeCacheInstances: pageNumber and pageSize', async () => {
    for (const [query, message] of [
      ['pageNumber=0', /pageNumber: must be an integer from 1 to 2147483647/],
      ['pageSize=9', /pageSize: must be an integer from 10 to 100/],
      ['pageSize=101', /pageSize: must be an integer from 10 to 100/],
      ['filters.1.name=colour&filters.1.values.1=red', /filters\.1\.name: unknown filter "colour"/],
      ['filters.1.name=instanceType&filters.1.values.1=memcached', /instanceType must be redis or redis_cluster/],
      ['sorts.1.name=createTime&sorts.1.direction=up', /sorts\.1\.direction: must be asc or desc/],
    ] as const) {
      const res = await signedFetch(svc.url, { method: 'GET', path: CREATE, query });
      expect(res.status, query).toBe(400);
      expect(res.json.error.message, query).toMatch(message);
    }
  });

  it('modifyCacheInstanceAttribute needs at least one field and valid values', async () => {
    const path = `${CREATE}/redis-aaaaaaaaaaaa`;
    const empty = await signedFetch(svc.url, { method: 'PATCH', path, body: { cacheInstanceName: null } });
    expect(empty.json.error.message).toMatch(/at least one of cacheInstanceName and cacheInstanceDescription/);
    const bad = await signedFetch(svc.url, { method: 'PATCH', path, body: { cacheInstanceName: 'x!' } });
    expect(bad.json.error.message).toMatch(/cacheInstanceName: must be 2 to 32/);
  });

  it('resetCacheInstancePassword checks the password rule', async () => {
    const res = await signedFetch(svc.url, { method: 'POST', path: `${CREATE}/redis-aaaaaaaaaaaa%3AresetCacheInstancePassword`, body: { password: 'short' } });
    expect(res.json.error.message).toMatch(/password: must be 8 to 16 letters and digits/);
  });

  it('describeInstanceClass refuses an unknown version', async () => {
    const res = await signedFetch(svc.url, { method: 'GET', path: '/v1/regions/cn-north-1/instanceClass', query: 'redisVersion=1.0' });
    expect(res.json.error.message).toMatch(/redisVersion: unsupported version "1.0"/);
  });
});

describe('tenancy, quota, lifecycle', () => {
  let id = '';
  let other = { accessKey: '', secretKey: '' };

  beforeAll(async () => {
    other = await createAccount(svc.db);
    const sdk = svc.sdk();
    // Go/Python style body: path params and nulls in the body are ignored.
    const res = await signedFetch(svc.url, {
      method: 'POST',
      path: CREATE,
      body: {
        regionId: 'cn-north-1',
        cacheInstance: { ...msSpec({ userTags: [{ key: 'team', value: 'a' }] }), password: null, ipv6On: null, shardNumber: null },
        charge: { chargeMode: 'prepaid_by_duration', chargeUnit: 'month', chargeDuration: 1, autoRenew: null },
      },
    });
    expect(res.status).toBe(200);
    id = res.json.result.cacheInstanceId;
    await waitForStatus(sdk, id, ['running']);
  });

  it('is invisible to another account in describe, list, modify, resize, reset and delete', async () => {
    const sdk = svc.sdk(other.accessKey, other.secretKey);
    const calls = [
      sdk.describeCacheInstance({ cacheInstanceId: id }),
      sdk.modifyCacheInstanceAttribute({ cacheInstanceId: id, cacheInstanceName: 'stolen' }),
      sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.small.basic' }),
      sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'Stolen123' }),
      sdk.deleteCacheInstance({ cacheInstanceId: id }),
    ];
    for (const call of calls) expect(await sdkError(call)).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    expect((await sdk.describeCacheInstances({})).result).toEqual({ cacheInstances: [], totalCount: 0 });
    expect((await sdk.describeUserQuota({})).result.quota.used).toBe(0);
    const mine = (await svc.sdk().describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(mine.cacheInstanceName).toBe('test_redis');
    expect(mine.cacheInstanceStatus).toBe('running');
  });

  it('computes chargeExpiredTime for prepaid and refuses to delete before it', async () => {
    const sdk = svc.sdk();
    const { charge, createTime } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
    expect(charge.chargeMode).toBe('prepaid_by_duration');
    const start = new Date(createTime as string);
    const expected = new Date(start);
    expected.setUTCMonth(expected.getUTCMonth() + 1);
    // Within a day of one calendar month (month-end clamping).
    expect(Math.abs(new Date(charge.chargeExpiredTime as string).getTime() - expected.getTime())).toBeLessThanOrEqual(3 * 86_400_000);
    const err = await sdkError(sdk.deleteCacheInstance({ cacheInstanceId: id }));
    expect(err).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(err.message).toMatch(/before it expires at/);
  });

  it('refuses operations in the wrong status, naming the status', async () => {
    const sdk = svc.sdk();
    // Put the row in `changing` the way a running resize would (no task: the engine leaves it alone).
    await svc.db.updateTable('instances').set({ status: 'changing' }).where('id', '=', id).execute();
    try {
      for (const call of [
        sdk.modifyCacheInstanceClass({ cacheInstanceId: id, cacheInstanceClass: 'redis.m.small.basic' }),
        sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'Abcd12345' }),
      ]) {
        const err = await sdkError(call);
        expect(err).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
        expect(err.message).toMatch(/while it is changing/);
      }
      await svc.db.updateTable('instances').set({ charge_expired_time: '2000-01-01T00:00:00Z' }).where('id', '=', id).execute();
      const del = await sdkError(sdk.deleteCacheInstance({ cacheInstanceId: id }));
      expect(del.message).toMatch(/cannot delete .* while it is changing; allowed when running or error/);
    } finally {
      await svc.db.updateTable('instances').set({ status: 'running' }).where('id', '=', id).execute();
    }
  });

  it('stops creating at the quota with QUOTA_EXCEEDED and creates nothing', async () => {
    const sdk = svc.sdk();
    const ids = [id];
    for (let i = 0; i < 2; i++) ids.push((await sdk.createCacheInstance({ cacheInstance: msSpec() })).result.cacheInstanceId as string);
    const portsBefore = await svc.db.selectFrom('ports').selectAll().execute();
    const err = await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec() }));
    expect(err).toMatchObject({ code: 429, status: 'QUOTA_EXCEEDED' });
    expect(err.message).toMatch(/3 of 3 instances/);
    expect(await rowCount()).toBe(3);
    expect(await svc.db.selectFrom('ports').selectAll().execute()).toEqual(portsBefore);
    expect((await sdk.describeUserQuota({})).result.quota).toEqual({ name: '缓存Redis', max: 3, used: 3 });
    // The list pages and counts all matches.
    const page = (await sdk.describeCacheInstances({ pageNumber: 1, pageSize: 10, sorts: [{ name: 'createTime', direction: 'asc' }] })).result;
    expect(page.totalCount).toBe(3);
    expect(page.cacheInstances.map((c: { cacheInstanceId: string }) => c.cacheInstanceId)).toEqual(ids);
    const byId = (await sdk.describeCacheInstances({ filters: [{ name: 'cacheInstanceId', values: [ids[1], ids[2]] }] })).result;
    expect(byId.totalCount).toBe(2);
    for (const extra of ids.slice(1)) await waitForStatus(sdk, extra, ['running']);
    for (const extra of ids.slice(1)) await sdk.deleteCacheInstance({ cacheInstanceId: extra });
    for (const extra of ids.slice(1)) await waitForStatus(sdk, extra, ['gone']);
  });
});
