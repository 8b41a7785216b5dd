/**
 * Resize progress and cache analysis through the official jdcloud-sdk-js against the real service and real
 * Redis: a master-slave pair (several databases, LFU policy for hot keys) and a native cluster resharded
 * from 3 to 4 shards. Every number the API reports is checked against the data written, and the analysis
 * is checked to have read the replicas and left the data and the masters' counters alone.
 * Ports 29300-29499 belong to this file.
 */
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { clusterClient } from '../cluster/cluster-writer.ts';
import { sdkError, type SdkBody, type SdkRedis } from '../helpers/sdk-client.ts';
import { startTestService, waitForStatus, type TestService } from '../helpers/test-service.ts';

type Call = (params: unknown, regionId?: string) => Promise<SdkBody>;
/** The analysis and progress operations of the SDK's Redis client. */
type AnalysisSdk = SdkRedis & Record<
  | 'describeTaskProgressList'
  | 'modifyInstanceConfig'
  | 'createCacheAnalysis'
  | 'describeCacheAnalysisList'
  | 'describeCacheAnalysisResult'
  | 'createBigKeyAnalysis'
  | 'describeBigKeyList'
  | 'describeBigKeyDetail'
  | 'createBigKeyAnalysis2'
  | 'describeBigKeyList2'
  | 'describeBigKeyDetail2'
  | 'stopCacheAnalysis'
  | 'describeAnalysisThreshold'
  | 'modifyAnalysisThreshold'
  | 'describeAnalysisThreshold2'
  | 'modifyAnalysisThreshold2'
  | 'describeAnalysisTime'
  | 'modifyAnalysisTime'
  | 'describeBigKeyAnalysisTime'
  | 'modifyBigKeyAnalysisTime'
  | 'describeBigKeyAnalysisTime2'
  | 'modifyBigKeyAnalysisTime2'
  | 'describeHotKeyResult2'
  | 'describeHotKeyDetail2'
  | 'describeHotKeySummary'
  | 'describeHotKeyDetail',
  Call
>;

const PASSWORD = 'Abcd1234';
let svc: TestService;
let sdk: AnalysisSdk;
let ms: { id: string; port: number };
let cluster: { id: string; port: number };
const clients: Array<{ disconnect(): void }> = [];

/** Today in JD's +0800 days, as the by-date lists count them. */
const today = (): string => new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);

async function create(name: string, cls: string, extra: Record<string, unknown> = {}): Promise<{ id: string; port: number }> {
  const res = await sdk.createCacheInstance({
    cacheInstance: { vpcId: 'vpc-1', subnetId: 'subnet-1', cacheInstanceName: name, cacheInstanceClass: cls, azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '7.0', password: PASSWORD, ...extra },
  });
  const id = res.result.cacheInstanceId as string;
  expect(await waitForStatus(sdk, id, ['running', 'error'], 60_000)).toBe('running');
  return { id, port: ((await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance as { port: number }).port };
}

function connect(port: number, db = 0): Redis {
  const c = new Redis({ host: '127.0.0.1', port, password: PASSWORD, db, maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
}

/** Polls describeBigKeyDetail2 until the run is no longer running. */
async function finished(id: string, taskId: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = (await sdk.describeBigKeyDetail2({ cacheInstanceId: id, taskId })).result as Record<string, unknown>;
    if (r.status !== 'running') return r;
    if (Date.now() > deadline) throw new Error(`analysis ${taskId} still running`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '29300-29499' });
  sdk = svc.sdk() as AnalysisSdk;
  [ms, cluster] = await Promise.all([create('analysis_ms', 'redis.m.micro.basic'), create('analysis_cluster', 'redis.o.1g.basic', { shardNumber: 3 })]);
}, 120_000);

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await svc?.destroy();
});

describe('describeTaskProgressList', () => {
  it('reports a reshard by the slots moved, 100% and its elapsed time once done; refuses an unknown taskType', async () => {
    expect((await sdk.describeTaskProgressList({ cacheInstanceId: cluster.id })).result.taskProgresses).toEqual([]);
    const c: Cluster = clusterClient('127.0.0.1', cluster.port, PASSWORD);
    clients.push(c);
    await Promise.all(Array.from({ length: 300 }, (_, i) => c.set(`k${i}`, 'v')));

    await sdk.modifyCacheInstanceClass({ cacheInstanceId: cluster.id, cacheInstanceClass: 'redis.o.1g.basic', shardNumber: 4 });
    const during = (await sdk.describeTaskProgressList({ cacheInstanceId: cluster.id, taskType: 'resize' })).result.taskProgresses as Array<Record<string, unknown>>;
    expect(during).toHaveLength(1);
    expect(['init', 'running', 'success']).toContain(during[0]!.taskStatus);
    expect(await waitForStatus(sdk, cluster.id, ['running', 'error'], 60_000)).toBe('running');

    const [done] = (await sdk.describeTaskProgressList({ cacheInstanceId: cluster.id })).result.taskProgresses as Array<Record<string, unknown>>;
    expect(done).toMatchObject({ taskType: 'resize', taskId: during[0]!.taskId, taskStatus: 'success', progressPercent: 100 });
    expect(done!.elapsedTimeSecond).toBeGreaterThanOrEqual(0);
    expect(Date.parse(done!.startTime as string)).toBeLessThanOrEqual(Date.now());
    // What the driver reported while it moved: a fourth shard takes 16384 / 4 slots, every one recorded.
    const row = await svc.db.selectFrom('task_progress').selectAll().where('task_id', '=', Number(done!.taskId)).executeTakeFirstOrThrow();
    expect({ unit: row.unit, done: Number(row.done), total: Number(row.total) }).toEqual({ unit: 'slots', done: 4096, total: 4096 });
    expect(await Promise.all(Array.from({ length: 300 }, (_, i) => c.get(`k${i}`)))).toEqual(Array.from({ length: 300 }, () => 'v'));

    expect((await sdk.describeTaskProgressList({ cacheInstanceId: cluster.id, taskType: 'upgrade' })).result.taskProgresses).toEqual([]);
    const bad = await sdkError(sdk.describeTaskProgressList({ cacheInstanceId: cluster.id, taskType: 'reboot' }));
    expect(bad).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(bad.message).toMatch(/taskType.*resize, upgrade/);
  }, 90_000);
});

describe('cache analysis on a master-slave instance', () => {
  let taskId: string;

  it('finds every big key per type and database, the hot key by its LFU counter, from the replica', async () => {
    await sdk.modifyInstanceConfig({ cacheInstanceId: ms.id, instanceConfig: [{ configName: 'maxmemory-policy', configValue: 'allkeys-lfu' }] });
    expect(await waitForStatus(sdk, ms.id, ['running', 'error'], 30_000)).toBe('running');
    const db0 = connect(ms.port);
    const db3 = connect(ms.port, 3);
    const p = db0.pipeline();
    for (let i = 0; i < 200; i++) p.set(`s:${i}`, 'small');
    p.set('big:str', 'x'.repeat(20_000));
    p.rpush('big:list', ...Array.from({ length: 1_500 }, (_, i) => String(i)));
    p.hset('big:hash', Object.fromEntries(Array.from({ length: 1_200 }, (_, i) => [`f${i}`, 'v'])));
    p.sadd('big:set', ...Array.from({ length: 1_100 }, (_, i) => `m${i}`));
    p.zadd('big:zset', ...Array.from({ length: 1_050 }, (_, i) => [i, `m${i}`]).flat());
    p.rpush('small:list', 'a', 'b');
    p.set('hot:1', 'h');
    await p.exec();
    await db3.set('big:str3', 'y'.repeat(30_000));
    for (let i = 0; i < 300; i++) await db0.get('hot:1');
    const coldFreq = await db0.object('FREQ', 's:7');

    await sdk.modifyAnalysisThreshold({ cacheInstanceId: ms.id, stringSize: 10_240, listSize: 1_000, hashSize: 1_000, setSize: 1_000, zsetSize: 1_000, top: 10 });
    expect((await sdk.describeAnalysisThreshold({ cacheInstanceId: ms.id })).result).toEqual({ stringSize: 10_240, listSize: 1_000, hashSize: 1_000, setSize: 1_000, zsetSize: 1_000, topSize: 10 });

    taskId = (await sdk.createCacheAnalysis({ cacheInstanceId: ms.id })).result.taskId as string;
    expect((await finished(ms.id, taskId)).status).toBe('success');
    const listed = (await sdk.describeCacheAnalysisList({ cacheInstanceId: ms.id, date: today() })).result.analyses as Array<Record<string, unknown>>;
    expect(listed).toEqual([{ analysisTime: expect.any(String), taskId, status: 'success' }]);

    const r = (await sdk.describeCacheAnalysisResult({ cacheInstanceId: ms.id, taskId })).result as Record<string, unknown>;
    expect(r.analysisType).toBe(0);
    expect(r.stringBigKeys).toEqual([
      { name: 'big:str3', db: 3, size: 30_000, keyType: 'string', frequency: 5 },
      { name: 'big:str', db: 0, size: 20_000, keyType: 'string', frequency: 5 },
    ]);
    const others = (r.otherBigKeys as Array<Record<string, unknown>>).map((k) => [k.name, k.keyType, k.size]);
    expect(others.sort()).toEqual([
      ['big:hash', 'hash', 1_200],
      ['big:list', 'list', 1_500],
      ['big:set', 'set', 1_100],
      ['big:zset', 'zset', 1_050],
    ]);
    const hot = r.hotKeys as Array<Record<string, unknown>>;
    expect(hot.map((k) => k.name)).toEqual(['hot:1']);
    expect(hot[0]!.frequency).toBeGreaterThan(5);
    expect(r.keyTypeDistribution).toEqual({ string: 203, list: 2, hash: 1, set: 1, zset: 1 });
    expect(Object.values(r.keySizeDistribution as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(208);
    const calls = r.cmdCallTimesTop as Array<{ name: string; data: number }>;
    expect(calls.find((c) => c.name === 'get')?.data).toBeGreaterThanOrEqual(300);

    // Read from the replica: the master never ran SCAN or MEMORY USAGE, and no key's counter moved.
    const stats = String(await db0.info('commandstats'));
    expect(stats).not.toMatch(/cmdstat_scan:|cmdstat_memory\|usage:/);
    expect(await db0.object('FREQ', 's:7')).toBe(coldFreq);
    expect(await db0.dbsize()).toBe(207);
  }, 90_000);

  it('answers the same run in the bigKey and hotKey families', async () => {
    const detail = (await sdk.describeBigKeyDetail({ cacheInstanceId: ms.id, taskId })).result as Record<string, unknown>;
    expect(detail.analysisType).toBe(1); // this family numbers manual runs 1
    expect(detail.listBigKeys).toEqual([{ name: 'big:list', db: 0, size: 1_500 }]);
    expect(detail.hashBigKeys).toEqual([{ name: 'big:hash', db: 0, size: 1_200 }]);
    expect((detail.stringBigKeys as unknown[]).length).toBe(2);
    expect((await sdk.describeBigKeyList({ cacheInstanceId: ms.id, date: today() })).result.analyses).toHaveLength(1);

    const list2 = (await sdk.describeBigKeyList2({ cacheInstanceId: ms.id, pageNumber: 1, pageSize: 10 })).result as Record<string, unknown>;
    expect(list2.totalCount).toBe(1);
    expect((list2.cacheAnalysisList as Array<Record<string, unknown>>)[0]).toMatchObject({ taskId, status: 'success', downloadUrl: '' });
    const d2 = (await sdk.describeBigKeyDetail2({ cacheInstanceId: ms.id, taskId })).result as Record<string, unknown>;
    expect(d2.bigKeyAnalysisNodesList).toEqual([
      { nodeId: `${ms.id}-shard-0-replica`, nodeRole: 'slave', stringTypeNum: '2', listTypeNum: '1', setTypeNum: 1, hashTypeNum: 1, zsetTypeNum: 1 },
    ]);

    const master = `${ms.id}-shard-0-master`;
    expect((await sdk.describeHotKeyResult2({ cacheInstanceId: ms.id })).result.hotKeyAnalysisNodesList).toEqual([{ nodeId: master, nodeRole: 'master', hotKeyNum: 1 }]);
    const hot2 = (await sdk.describeHotKeyDetail2({ cacheInstanceId: ms.id, nodeId: master })).result as Record<string, unknown>;
    expect(hot2.totalCount).toBe(1);
    expect((hot2.hotHeys as Array<Record<string, unknown>>)[0]).toMatchObject({ key: 'hot:1', db: 0 });
    expect((await sdk.describeHotKeySummary({ cacheInstanceId: ms.id })).result.hotKeyAnalysisNodesList).toEqual([{ nodeId: master, nodeRole: 'master', hotKeyNum: 1 }]);
    expect((await sdk.describeHotKeyDetail({ cacheInstanceId: ms.id, nodeId: master })).result.totalCount).toBe(1);
    const span = await sdkError(sdk.describeHotKeySummary({ cacheInstanceId: ms.id, startTime: '2026-01-01T00:00:00Z', endTime: '2026-01-20T00:00:00Z' }));
    expect(span).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
  });

  it('stops a running analysis (manual_stop), refuses a second one while one runs, and keeps another account out', async () => {
    const c = connect(ms.port);
    const p = c.pipeline();
    for (let i = 0; i < 20_000; i++) p.set(`bulk:${i}`, 'v');
    await p.exec();
    // At most 5000 keys a second: 20000 keys take at least 4 s, so the stop below finds it running.
    const id2 = (await sdk.createBigKeyAnalysis2({ cacheInstanceId: ms.id, stringSize: 10_240, listSize: 1_000, hashSize: 1_000, setSize: 1_000, zsetSize: 1_000 })).result.taskId as string;
    const twice = await sdkError(sdk.createCacheAnalysis({ cacheInstanceId: ms.id }));
    expect(twice).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    await createAccount(svc.db, { accessKey: 'OTHERAK', secretKey: 'OTHERSK' });
    const other = svc.sdk('OTHERAK', 'OTHERSK') as AnalysisSdk;
    expect(await sdkError(other.stopCacheAnalysis({ cacheInstanceId: ms.id }))).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    expect(await sdkError(other.describeBigKeyDetail2({ cacheInstanceId: ms.id, taskId: id2 }))).toMatchObject({ code: 404 });
    await sdk.stopCacheAnalysis({ cacheInstanceId: ms.id });
    expect((await finished(ms.id, id2)).status).toBe('manual_stop');
    const v1 = (await sdk.describeBigKeyList({ cacheInstanceId: ms.id, date: today() })).result.analyses as Array<Record<string, unknown>>;
    expect(v1.find((a) => a.taskId === id2)?.status).toBe('error');
    expect(await sdkError(sdk.describeCacheAnalysisResult({ cacheInstanceId: ms.id, taskId: id2 }))).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(await sdkError(sdk.stopCacheAnalysis({ cacheInstanceId: ms.id }))).toMatchObject({ code: 400, status: 'FAILED_PRECONDITION' });
    expect(await c.dbsize()).toBe(20_207);
  }, 60_000);

  it('refuses bad thresholds, windows and dates naming the field and the rule', async () => {
    const cases: Array<[Promise<SdkBody>, RegExp]> = [
      [sdk.modifyAnalysisThreshold2({ cacheInstanceId: ms.id, stringSize: 100 }), /stringSize.*10240/],
      [sdk.modifyAnalysisThreshold({ cacheInstanceId: ms.id, top: 5 }), /top.*10 to 1000/],
      [sdk.createBigKeyAnalysis({ cacheInstanceId: ms.id, listSize: 0 }), /listSize.*1 to/],
      [sdk.modifyAnalysisTime({ cacheInstanceId: ms.id, analysisTime: '25:00-26:00 +0800' }), /analysisTime.*HH:mm-HH:mm/],
      [sdk.describeCacheAnalysisList({ cacheInstanceId: ms.id, date: '2026-13-01' }), /date.*yyyy-MM-dd/],
    ];
    for (const [call, message] of cases) {
      const e = await sdkError(call);
      expect(e).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      expect(e.message).toMatch(message);
    }
    expect((await sdk.describeAnalysisThreshold2({ cacheInstanceId: ms.id })).result).toEqual({ stringSize: 10_240, listSize: 1_000, hashSize: 1_000, setSize: 1_000, zsetSize: 1_000 });
    // One set of thresholds per instance: the second family changes what the first one reads (top kept).
    await sdk.modifyAnalysisThreshold2({ cacheInstanceId: ms.id, stringSize: 50_000, zsetSize: 2_000 });
    expect((await sdk.describeAnalysisThreshold({ cacheInstanceId: ms.id })).result).toEqual({ stringSize: 50_000, listSize: 1_000, hashSize: 1_000, setSize: 1_000, zsetSize: 2_000, topSize: 10 });
    await sdk.modifyAnalysisThreshold({ cacheInstanceId: ms.id, stringSize: 10_240, zsetSize: 1_000 });
  });

  it('runs the daily automatic analysis once inside the window set by any family', async () => {
    expect((await sdk.describeAnalysisTime({ cacheInstanceId: ms.id })).result.time).toBe('-');
    // A two-hour window around now, in UTC: the automatic run starts at once (the window was just set).
    const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);
    const window = `${hhmm(Date.now() - 3_600_000)}-${hhmm(Date.now() + 3_600_000)} +0000`;
    const known = new Set(((await sdk.describeCacheAnalysisList({ cacheInstanceId: ms.id, date: today() })).result.analyses as Array<{ taskId: string }>).map((a) => a.taskId));
    await sdk.modifyBigKeyAnalysisTime2({ cacheInstanceId: ms.id, analysisTime: window });
    expect((await sdk.describeBigKeyAnalysisTime({ cacheInstanceId: ms.id })).result.time).toBe(window);
    expect((await sdk.describeBigKeyAnalysisTime2({ cacheInstanceId: ms.id })).result.time).toBe(window);
    let auto: Record<string, unknown> | undefined;
    const deadline = Date.now() + 20_000;
    while (!auto && Date.now() < deadline) {
      const list = (await sdk.describeCacheAnalysisList({ cacheInstanceId: ms.id, date: today() })).result.analyses as Array<Record<string, unknown>>;
      auto = list.find((a) => !known.has(a.taskId as string) && a.status === 'success');
      if (!auto) await new Promise((r) => setTimeout(r, 200));
    }
    expect(auto).toBeDefined();
    const r = (await sdk.describeCacheAnalysisResult({ cacheInstanceId: ms.id, taskId: auto!.taskId })).result as Record<string, unknown>;
    expect(r.analysisType).toBe(1);
    expect((await sdk.describeBigKeyDetail({ cacheInstanceId: ms.id, taskId: auto!.taskId })).result.analysisType).toBe(0);
    await sdk.modifyBigKeyAnalysisTime({ cacheInstanceId: ms.id, analysisTime: '-' });
    expect((await sdk.describeAnalysisTime({ cacheInstanceId: ms.id })).result.time).toBe('-');
    expect(await sdkError(sdk.modifyAnalysisTime({ cacheInstanceId: ms.id, analysisTime: '01:00-01:00 +0800' }))).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
  }, 60_000);
});

describe('cache analysis on a native cluster', () => {
  it('scans every shard on its replica and counts big keys per node', async () => {
    const c = clusterClient('127.0.0.1', cluster.port, PASSWORD);
    clients.push(c);
    // One name of 3000 bytes: reported cut to 1024 bytes and marked, never whole.
    const long = `{g}${'n'.repeat(2_997)}`;
    const names = ['{a}big', '{b}big', '{c}big', '{d}big', '{e}big', '{f}big', long];
    await Promise.all(names.map((n) => c.set(n, 'z'.repeat(500))));
    const id = (await sdk.createBigKeyAnalysis({ cacheInstanceId: cluster.id, stringSize: 400, top: 10 })).result.taskId as string;
    const d2 = await finished(cluster.id, id);
    expect(d2.status).toBe('success');
    const nodes = d2.bigKeyAnalysisNodesList as Array<Record<string, unknown>>;
    expect(nodes.map((n) => [n.nodeId, n.nodeRole])).toEqual([0, 1, 2, 3].map((s) => [`${cluster.id}-shard-${s}-replica`, 'slave']));
    // Each node's count is what its shard's master holds.
    const perMaster = await Promise.all(c.nodes('master').map(async (m) => (await Promise.all(names.map(async (n) => ((await m.exists(n).catch(() => 0)) ? 1 : 0)))).reduce((a: number, b) => a + b, 0)));
    expect(nodes.map((n) => Number(n.stringTypeNum)).sort()).toEqual(perMaster.sort());
    const detail = (await sdk.describeBigKeyDetail({ cacheInstanceId: cluster.id, taskId: id })).result as Record<string, unknown>;
    expect((detail.stringBigKeys as Array<{ name: string }>).map((k) => k.name).sort()).toEqual([...names.slice(0, 6), `${long.slice(0, 1024)}…`].sort());
  }, 60_000);
});
