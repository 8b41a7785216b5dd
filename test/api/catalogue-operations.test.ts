/**
 * The catalogue operations through the official jdcloud-sdk-js against the real service:
 * describeAvailableRegion, describeAvailableResource and describeSpecConfig, shaped as JD documents
 * them, answered from the service's own regions and classes, and consistent with what it then builds:
 * a size picked from the answer is created and runs with that memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SdkBody, SdkRedis } from '../helpers/sdk-client.ts';
import { msSpec, startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

interface CatalogueSdk extends SdkRedis {
  describeAvailableRegion(params: unknown, regionId?: string): Promise<SdkBody>;
  describeAvailableResource(params: unknown, regionId?: string): Promise<SdkBody>;
  describeAvailableResource2(params: unknown, regionId?: string): Promise<SdkBody>;
  describeSpecConfig(params: unknown, regionId?: string): Promise<SdkBody>;
}

let svc: TestService;
let sdk: CatalogueSdk;
beforeAll(async () => {
  svc = await startTestService({ instancePorts: '27100-27149', env: { JCS_REGIONS: 'cn-north-1,cn-east-2,my-lab-1' } });
  sdk = svc.sdk() as CatalogueSdk;
});
afterAll(async () => {
  await svc?.destroy();
});

const zones = (region: string) => ['a', 'b', 'c'].map((l) => `${region}${l}`);

describe('describeAvailableRegion', () => {
  it('lists every configured region with its zones, JD names and the caller\'s quota there', async () => {
    const before = (await sdk.describeAvailableRegion({})).result.availableRegions;
    expect(before.map((r: { regionId: string }) => r.regionId)).toEqual(['cn-north-1', 'cn-east-2', 'my-lab-1']);
    expect(before[0]).toEqual({
      regionId: 'cn-north-1',
      regionName: '华北-北京',
      soldOut: false,
      quota: { max: 20, used: 0 },
      availableZones: zones('cn-north-1').map((azId, i) => ({ azId, azName: `可用区${'ABC'[i]}`, soldOut: false })),
    });
    expect(before[2]).toMatchObject({ regionId: 'my-lab-1', regionName: 'my-lab-1' });

    const created = await sdk.createCacheInstance({ cacheInstance: msSpec({ cacheInstanceName: 'quota_one' }) });
    const after = (await sdk.describeAvailableRegion({}, 'cn-east-2')).result.availableRegions;
    expect(after.map((r: { quota: unknown }) => r.quota)).toEqual([
      { max: 20, used: 1 },
      { max: 20, used: 0 },
      { max: 20, used: 0 },
    ]);
    await waitForStatus(sdk, created.result.cacheInstanceId, ['running', 'error']);
    await sdk.deleteCacheInstance({ cacheInstanceId: created.result.cacheInstanceId });
    await waitForStatus(sdk, created.result.cacheInstanceId, ['gone']);
  });

  it('still needs a signature and a known region', async () => {
    const stranger = svc.sdk('NOBODY', 'NOSECRET') as CatalogueSdk;
    await expect(stranger.describeAvailableRegion({})).rejects.toMatchObject({ error: { code: 401 } });
    await expect(sdk.describeAvailableRegion({}, 'cn-nowhere-9')).rejects.toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });
});

interface Flavor {
  shardNumber: number;
  ipNumber: number;
  recommended: boolean;
  instanceClasses: string[];
  detail: { cpu: number; diskGB: number; maxConnection: number; bandwidthMbps: number };
}
interface MemorySpec {
  memoryGB: number;
  memoryMB: number;
  soldOut: boolean;
  availableZones: { azId: string }[];
  availableFlavors: Flavor[];
}

describe('describeAvailableResource', () => {
  it('offers the architectures this service builds, each version with sizes and flavors from the class catalogue', async () => {
    const { availableResources } = (await sdk.describeAvailableResource({})).result;
    const ms = availableResources.find((r: { architectureType: string }) => r.architectureType === 'master-slave');
    expect(ms).toMatchObject({
      architectureName: '标准版',
      recommended: true,
      soldOut: false,
      supportedMaxReplicas: 2,
      supportedMinReplicas: 2,
      supportedAzSpecifyType: ['SpecifyByReplicaGroup'],
      supportedExposeType: [],
      supportSmartProxy: false,
    });
    expect(ms.availableEngineVersions.map((v: { version: string }) => v.version)).toEqual(['2.8', '4.0', '5.0', '6.2', '7.0']);
    const v40 = ms.availableEngineVersions.find((v: { version: string }) => v.version === '4.0');
    expect(v40.availableCPUArchs).toHaveLength(1);
    expect(v40.availableCPUArchs[0].cpuArchInfo.cpuType).toBe(process.arch === 'arm64' ? 'arm64' : 'amd64');
    const specs = v40.availableCPUArchs[0].availableMemorySpecs as MemorySpec[];
    expect(v40.availableMemorySpecs).toEqual(specs);
    expect(specs[0]).toEqual({
      memoryGB: 1,
      memoryMB: 1024,
      soldOut: false,
      availableZones: zones('cn-north-1').map((azId, i) => ({ azId, azName: `可用区${'ABC'[i]}`, soldOut: false })),
      availableFlavors: [
        { shardNumber: 1, ipNumber: 2, recommended: true, instanceClasses: ['redis.m.micro.basic'], detail: { cpu: 1, diskGB: 20, maxConnection: 10000, bandwidthMbps: 48 } },
      ],
    });

    // Every master-slave flavor is a class describeInstanceClass reports, with the same figures.
    const classes = (await sdk.describeInstanceClass({ redisVersion: '4.0' })).result.instanceClasses as { instanceClass: string; memoryMB: number; cpu: number; maxConnection: number }[];
    for (const spec of specs) {
      const [flavor] = spec.availableFlavors;
      const cls = classes.find((c) => c.instanceClass === flavor!.instanceClasses[0]);
      expect(cls, flavor!.instanceClasses[0]).toMatchObject({ memoryMB: spec.memoryMB, cpu: flavor!.detail.cpu, maxConnection: flavor!.detail.maxConnection });
    }
  });

  it('a size and zone picked from the answer can be created and serves that memory', async () => {
    const { availableResources } = (await sdk.describeAvailableResource({})).result;
    const ms = availableResources.find((r: { architectureType: string }) => r.architectureType === 'master-slave');
    const spec = (ms.availableEngineVersions.find((v: { version: string }) => v.version === '7.0').availableMemorySpecs as MemorySpec[])[1]!;
    const created = await sdk.createCacheInstance({
      cacheInstance: msSpec({
        cacheInstanceName: 'picked',
        redisVersion: '7.0',
        cacheInstanceClass: spec.availableFlavors[0]!.instanceClasses[0],
        azId: { master: spec.availableZones[2]!.azId, slave: spec.availableZones[0]!.azId, azSpecifyType: ms.supportedAzSpecifyType[0] },
        replicaNumber: ms.supportedMaxReplicas,
      }),
    });
    const id = created.result.cacheInstanceId as string;
    expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
    const { cacheInstance } = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result;
    expect(cacheInstance).toMatchObject({ cacheInstanceMemoryMB: spec.memoryMB, azId: { master: 'cn-north-1c', slave: 'cn-north-1a' } });
    await sdk.deleteCacheInstance({ cacheInstanceId: id });
    await waitForStatus(sdk, id, ['gone']);
  });

  it('describeAvailableResource2 answers the same model and data', async () => {
    const [one, two] = await Promise.all([sdk.describeAvailableResource({}, 'cn-east-2'), sdk.describeAvailableResource2({}, 'cn-east-2')]);
    expect(two.result).toEqual(one.result);
    expect(two.result.availableResources[0].availableEngineVersions[0].availableMemorySpecs[0].availableZones[0].azId).toBe('cn-east-2a');
  });

  it('a per-shard architecture lists each total with every shard count that gives it', async () => {
    const { availableResources } = (await sdk.describeAvailableResource({})).result;
    const cluster = availableResources.find((r: { architectureType: string }) => r.architectureType === 'native-cluster');
    if (!cluster) return; // the service offers native-cluster only where its driver builds it
    expect(cluster.architectureName).toBe('cluster集群版');
    const specs = cluster.availableEngineVersions[0].availableMemorySpecs as MemorySpec[];
    const spec = specs.find((s) => s.memoryGB === 16)!;
    expect(spec.availableFlavors.map((f) => [f.shardNumber, f.instanceClasses[0]])).toEqual([
      [4, 'redis.o.4g.basic'],
      [8, 'redis.o.2g.basic'],
      [16, 'redis.o.1g.basic'],
    ]);
    expect(spec.availableFlavors.filter((f) => f.recommended)).toHaveLength(1);
    expect(spec.availableFlavors[0]).toMatchObject({ ipNumber: 8, detail: { maxConnection: 40000, bandwidthMbps: 192 } });
    expect(cluster.availableEngineVersions[0].availableCPUArchs[0]).toMatchObject({ shardNumberMin: 3, shardNumberMax: 128 });
  });
});

describe('describeSpecConfig', () => {
  it('has JD\'s shape: instanceSpec per region, version and type, and shardSpec for per-shard classes', async () => {
    const result = (await sdk.describeSpecConfig({}, 'cn-east-2')).result;
    expect(result.instanceSpec.region).toBe('cn-east-2');
    const versions = result.instanceSpec.instanceVersions as { redisVersion: string; instanceTypes: { instanceType: string; specs: Record<string, unknown>[] }[] }[];
    expect(versions.map((v) => v.redisVersion)).toEqual(['2.8', '4.0', '5.0', '6.2', '7.0']);
    const ms = versions.find((v) => v.redisVersion === '4.0')!.instanceTypes.find((t) => t.instanceType === 'master-slave')!;
    expect(ms.specs[0]).toEqual({
      memoryGB: 1,
      memoryMB: 1024,
      instanceClass: 'redis.m.micro.basic',
      cpu: 1,
      diskGB: 20,
      maxConnection: 10000,
      bandwidthMbps: 48,
      ipNumber: 2,
      shard: null,
      azs: zones('cn-east-2'),
    });
    expect(versions.find((v) => v.redisVersion === '2.8')!.instanceTypes.map((t) => t.instanceType)).toEqual(['master-slave', 'cluster']);

    const cluster = versions.find((v) => v.redisVersion === '4.0')!.instanceTypes.find((t) => t.instanceType === 'native-cluster');
    if (!cluster) return;
    const s16 = cluster.specs.find((s) => s.memoryGB === 16)!;
    expect(s16).toMatchObject({ instanceClass: '', cpu: 0, diskGB: 0, maxConnection: 0, bandwidthMbps: 0, ipNumber: 0 });
    expect(s16.shard).toEqual({ defaultShardNumber: 8, defaultShardClass: 'redis.o.2g.basic', shardNumberList: [4, 8, 16], ipNumberList: [8, 16, 32] });
    expect(result.shardSpec['redis.o.2g.basic']).toEqual({
      shardClass: 'redis.o.2g.basic',
      cpu: 1,
      memoryGB: 2,
      memoryMB: 2048,
      diskGB: 20,
      maxConnection: 10000,
      bandwidthMbps: 48,
      shardNumberList: [3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128],
    });
    // Every total is shards × a described shard class.
    for (const spec of cluster.specs) {
      const shard = spec.shard as { shardNumberList: number[]; defaultShardClass: string; defaultShardNumber: number };
      expect(result.shardSpec[shard.defaultShardClass].memoryMB * shard.defaultShardNumber).toBe(spec.memoryMB);
      expect(shard.shardNumberList).toContain(shard.defaultShardNumber);
    }
  });
});
