/**
 * Fidelity gaps found with the official SDK (issue 16), each through jdcloud-sdk-js against the real
 * service: describeCacheInstances honours resourceGroupIds, sorts by totalMemory and applies JD's
 * filter operators; JD fields that cannot be honoured are refused naming the field (never accepted
 * and dropped), and chargeDuration is not checked for postpaid; results carry every field of the
 * newest SDK models with true values.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkError, type SdkRedis } from '../helpers/sdk-client.ts';
import { signedFetch } from '../helpers/signed-fetch.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
let sdk: SdkRedis;
/** small (2 GB, rg-a), micro (1 GB, rg-b), medium (4 GB, no group, 7.0), created in this order. */
const ids: Record<'small' | 'micro' | 'medium', string> = { small: '', micro: '', medium: '' };

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '27150-27199' });
  sdk = svc.sdk();
  const create = async (name: string, spec: Record<string, unknown>) => {
    const res = await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: name, ...spec }) });
    return res.result.cacheInstanceId as string;
  };
  ids.small = await create('fid_small', { cacheInstanceClass: 'redis.m.small.basic', resourceGroupId: 'rg-a' });
  ids.micro = await create('fid_micro', { cacheInstanceClass: 'redis.m.micro.basic', resourceGroupId: 'rg-b' });
  ids.medium = await create('other_medium', { cacheInstanceClass: 'redis.m.medium.basic', redisVersion: '7.0' });
  for (const id of Object.values(ids)) expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
});
afterAll(async () => {
  await svc?.destroy();
});

async function listIds(params: Record<string, unknown>): Promise<string[]> {
  const res = await sdk.describeCacheInstances(params);
  expect(res.result.totalCount).toBe(res.result.cacheInstances.length);
  return (res.result.cacheInstances as { cacheInstanceId: string }[]).map((c) => c.cacheInstanceId);
}

describe('describeCacheInstances', () => {
  it('honours resourceGroupIds (any of them)', async () => {
    expect(await listIds({ resourceGroupIds: ['rg-a'] })).toEqual([ids.small]);
    expect((await listIds({ resourceGroupIds: ['rg-b', 'rg-a'] })).sort()).toEqual([ids.small, ids.micro].sort());
    expect(await listIds({ resourceGroupIds: ['rg-none'] })).toEqual([]);
    expect(await listIds({ resourceGroupIds: ['rg-a'], filters: [{ name: 'cacheInstanceName', values: ['micro'] }] })).toEqual([]);
  });

  it('sorts by totalMemory, which takes priority over createTime', async () => {
    expect(await listIds({ sorts: [{ name: 'createTime', direction: 'asc' }] })).toEqual([ids.small, ids.micro, ids.medium]);
    expect(await listIds({ sorts: [{ name: 'totalMemory', direction: 'asc' }] })).toEqual([ids.micro, ids.small, ids.medium]);
    expect(
      await listIds({
        sorts: [
          { name: 'createTime', direction: 'asc' },
          { name: 'totalMemory', direction: 'desc' },
        ],
      }),
    ).toEqual([ids.medium, ids.small, ids.micro]);
    const err = await sdkError(sdk.describeCacheInstances({ sorts: [{ name: 'cacheInstanceName', direction: 'asc' }] }));
    expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(err.message).toMatch(/^sorts\.1\.name: must be createTime or totalMemory/);
  });

  it('applies JD\'s filter operators: ne, in, like and version bounds', async () => {
    const all = [ids.small, ids.micro, ids.medium].sort();
    expect((await listIds({ filters: [{ name: 'cacheInstanceId', values: [ids.small], operator: 'ne' }] })).sort()).toEqual([ids.micro, ids.medium].sort());
    expect((await listIds({ filters: [{ name: 'cacheInstanceId', values: [ids.small, ids.micro], operator: 'in' }] })).sort()).toEqual([ids.small, ids.micro].sort());
    expect((await listIds({ filters: [{ name: 'cacheInstanceName', values: ['fid_'], operator: 'like' }] })).sort()).toEqual([ids.small, ids.micro].sort());
    expect(await listIds({ filters: [{ name: 'cacheInstanceName', values: ['fid_'], operator: 'ne' }] })).toEqual([ids.medium]);
    expect(await listIds({ filters: [{ name: 'redisVersion', values: ['4.0'], operator: 'gt' }] })).toEqual([ids.medium]);
    expect((await listIds({ filters: [{ name: 'redisVersion', values: ['4.0'], operator: 'le' }] })).sort()).toEqual([ids.small, ids.micro].sort());
    expect(await listIds({ filters: [{ name: 'redisVersion', values: ['7.0'], operator: 'ne' }, { name: 'cacheInstanceStatus', values: ['running'] }], sorts: [{ name: 'createTime', direction: 'asc' }] })).toEqual([
      ids.small,
      ids.micro,
    ]);
    expect((await listIds({ filters: [{ name: 'cacheInstanceStatus', values: ['creating', 'error'], operator: 'ne' }] })).sort()).toEqual(all);

    const lt = await sdkError(sdk.describeCacheInstances({ filters: [{ name: 'cacheInstanceStatus', values: ['running'], operator: 'lt' }] }));
    expect(lt).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(lt.message).toBe('filters.1.operator: the cacheInstanceStatus filter takes eq, in, ne, got "lt"');
    const two = await sdkError(sdk.describeCacheInstances({ filters: [{ name: 'redisVersion', values: ['4.0', '5.0'], operator: 'ge' }] }));
    expect(two.message).toMatch(/^filters\.1\.values: operator ge takes one version/);
    const like = await sdkError(sdk.describeCacheInstances({ filters: [{ name: 'vpcId', values: ['vpc'], operator: 'like' }] }));
    expect(like.message).toMatch(/^filters\.1\.operator: the vpcId filter takes eq, in, ne/);
  });
});

describe('fields that cannot be honoured are refused, naming the field', () => {
  const refusals: [string, Record<string, unknown>, Record<string, unknown> | undefined, RegExp][] = [
    ['azId.azSpecifyType SpecifyByCluster', { azId: { master: 'cn-north-1a', slave: 'cn-north-1b', azSpecifyType: 'SpecifyByCluster' } }, undefined, /^cacheInstance\.azId\.azSpecifyType: SpecifyByCluster is not supported/],
    ['azId.azsForCluster', { azId: { master: 'cn-north-1a', slave: 'cn-north-1b', azsForCluster: ['cn-north-1a', 'cn-north-1c'] } }, undefined, /^cacheInstance\.azId\.azsForCluster: /],
    ['azId.azsForProxy', { azId: { master: 'cn-north-1a', slave: 'cn-north-1b', azsForProxy: ['cn-north-1a'] } }, undefined, /^cacheInstance\.azId\.azsForProxy: /],
    ['azId.azSpecifyType not one of JD\'s', { azId: { master: 'cn-north-1a', slave: 'cn-north-1b', azSpecifyType: 'Anywhere' } }, undefined, /^cacheInstance\.azId\.azSpecifyType: must be SpecifyByReplicaGroup or SpecifyByCluster/],
    ['configTemplateId', { configTemplateId: 'tpl-1' }, undefined, /^cacheInstance\.configTemplateId: configuration templates are not supported/],
    ['opsTags', { opsTags: [{ key: 'k', value: 'v' }] }, undefined, /^cacheInstance\.opsTags: /],
    ['ipv6On 1', { ipv6On: 1 }, undefined, /^cacheInstance\.ipv6On: IPv6 is not offered/],
    ['extension with fields', { extension: { domainSuffix: 'x' } }, undefined, /^cacheInstance\.extension: no extension fields are supported, got domainSuffix/],
    ['charge.autoChangeChargeMode', {}, { chargeMode: 'prepaid_by_duration', chargeDuration: 1, autoChangeChargeMode: true }, /^charge\.autoChangeChargeMode: /],
    ['prepaid chargeDuration 12 months', {}, { chargeMode: 'prepaid_by_duration', chargeUnit: 'month', chargeDuration: 12 }, /^charge\.chargeDuration: must be 1 to 9 when chargeUnit is month, got 12/],
  ];
  for (const [what, spec, charge, message] of refusals) {
    it(`createCacheInstance: ${what}`, async () => {
      const err = await sdkError(sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'refused', ...spec }), ...(charge ? { charge } : {}) }));
      expect(err).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(err.message).toMatch(message);
    });
  }

  it('nothing was created by the refused calls', async () => {
    expect(await listIds({ filters: [{ name: 'cacheInstanceName', values: ['refused'] }] })).toEqual([]);
  });

  it('their neutral values (what the Go and Python SDKs send) are accepted, and chargeDuration is not checked for postpaid', async () => {
    const res = await sdk.createCacheInstance({
      cacheInstance: msSpec({
        cacheInstanceName: 'neutral',
        azId: { master: 'cn-north-1a', slave: 'cn-north-1b', azSpecifyType: 'SpecifyByReplicaGroup', azsForCluster: [], azsForProxy: [] },
        configTemplateId: '',
        opsTags: [],
        ipv6On: 0,
        extension: {},
      }),
      charge: { chargeMode: 'postpaid_by_duration', chargeUnit: 'year', chargeDuration: 12, autoChangeChargeMode: false },
    });
    const id = res.result.cacheInstanceId as string;
    const { cacheInstance } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result;
    expect(cacheInstance.charge).toEqual({ chargeMode: 'postpaid_by_duration', chargeStatus: 'normal', chargeStartTime: cacheInstance.createTime });
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    await waitForStatus(sdk, id, ['gone']);
  });

  const resizeRefusals: [Record<string, unknown>, RegExp][] = [
    [{ parallel: true }, /^parallel: /],
    [{ effectiveTime: 'MaintainTime' }, /^effectiveTime: there is no maintenance window/],
    [{ replicaNumber: 3 }, /^replicaNumber: only 2/],
    [{ replicaAzs2Add: ['cn-north-1c'] }, /^replicaAzs2Add: /],
  ];
  for (const [fields, message] of resizeRefusals) {
    // The JS SDK 2.6.24 sends only cacheInstanceClass and shardNumber: these fields come from the Go
    // and Python SDKs, which send the whole request (path parameters and nulls included).
    it(`modifyCacheInstanceClass as the Go SDK sends it: ${Object.keys(fields)[0]}`, async () => {
      const body = { regionId: 'cn-north-1', cacheInstanceId: ids.micro, cacheInstanceClass: 'redis.m.small.basic', shardNumber: null, replicaNumber: null, replicaAzs2Add: null, parallel: null, effectiveTime: null, ...fields };
      const res = await signedFetch(svc.url, { method: 'POST', path: `/v1/regions/cn-north-1/cacheInstance/${ids.micro}%3AmodifyCacheInstanceClass`, body });
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(res.json.error.message).toMatch(message);
      expect((await sdk.describeCacheInstance({ cacheInstanceId: ids.micro })).result.cacheInstance).toMatchObject({ cacheInstanceStatus: 'running', cacheInstanceClass: 'redis.m.micro.basic' });
    });
  }
});

/** Every field of the newest SDK's CacheInstance model (Go SDK 2.7.46, redis/models/CacheInstance.go). */
const CACHE_INSTANCE_FIELDS = [
  'cacheInstanceId', 'cacheInstanceName', 'cacheInstanceClass', 'cacheInstanceMemoryMB', 'cacheInstanceStatus', 'cacheInstanceDescription',
  'createTime', 'softDeletedTime', 'retainExpireTime', 'azId', 'vpcId', 'subnetId', 'connectionDomain', 'port', 'charge', 'instanceVersion',
  'instanceProxyVersion', 'auth', 'isAllowNoAuth', 'redisVersion', 'cacheInstanceType', 'ipv6On', 'tags', 'resourceGroupId', 'shardNumber',
  'memoryMBPerShard', 'extension', 'otherDomains', 'slaveAppendonly', 'databaseNum', 'maxmemoryPolicy', 'replicaNumber', 'enableSmartProxy',
  'cpuArchType', 'maintenanceStartTime', 'maintenanceEndTime', 'toBeExecutedTaskType', 'supportAssociateEIP', 'platform',
].sort();

describe('result models', () => {
  it('describeCacheInstance and the list carry every field of the SDK\'s CacheInstance, and nothing else', async () => {
    const { cacheInstance } = (await sdk.describeCacheInstance({ cacheInstanceId: ids.small })).result;
    expect(Object.keys(cacheInstance).sort()).toEqual(CACHE_INSTANCE_FIELDS);
    expect(cacheInstance.azId).toEqual({ azSpecifyType: 'SpecifyByReplicaGroup', azsForCluster: [], master: 'cn-north-1a', slave: 'cn-north-1b', azsForProxy: [] });
    expect(cacheInstance).toMatchObject({ resourceGroupId: 'rg-a', replicaNumber: 2, enableSmartProxy: 0, instanceProxyVersion: '', toBeExecutedTaskType: [], supportAssociateEIP: false });
    const listed = (await sdk.describeCacheInstances({ filters: [{ name: 'cacheInstanceId', values: [ids.small] }] })).result.cacheInstances[0];
    expect(listed).toEqual(cacheInstance);
  });

  it('a prepaid instance past its expiry shows chargeStatus overdue', async () => {
    const res = await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'prepaid' }), charge: { chargeMode: 'prepaid_by_duration', chargeUnit: 'month', chargeDuration: 1 } });
    const id = res.result.cacheInstanceId as string;
    const before = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.charge;
    expect(before).toMatchObject({ chargeMode: 'prepaid_by_duration', chargeStatus: 'normal' });
    expect(new Date(before.chargeExpiredTime).getTime()).toBeGreaterThan(Date.now());
    // A month cannot pass in a test: the expiry is moved to the past in the store, as time would.
    await sql`update instances set charge_expired_time = '2020-01-01T00:00:00Z' where id = ${id}`.execute(svc.db);
    const after = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.charge;
    expect(after).toMatchObject({ chargeStatus: 'overdue', chargeExpiredTime: '2020-01-01T00:00:00Z' });
    await waitForStatus(sdk, id, ['running', 'error']);
  });

  it('describeInstanceClass answers the SDK\'s InstanceClass model, and nothing else', async () => {
    for (const redisVersion of ['2.8', '4.0', '7.0']) {
      const { instanceClasses, totalCount } = (await sdk.describeInstanceClass({ redisVersion })).result;
      expect(totalCount).toBe(instanceClasses.length);
      for (const c of instanceClasses) {
        expect(Object.keys(c).sort()).toEqual(['bandwidthMbps', 'cpu', 'diskGB', 'instanceClass', 'instanceType', 'maxConnection', 'memoryMB']);
      }
    }
  });
});
