import { formatJdTime } from '../time-format.ts';
import { BIG_KEY_TYPES, type AnalysedKey, type NodeFindings } from './analysis-result.ts';
import type { AnalysisRecord } from './cache-analysis-service.ts';

/**
 * JD's shapes of one analysis run, per API family. Statuses: the first family knows running, success and
 * error (a stopped run is `error` there); bigKeyAnalysis* knows running, success, fail and manual_stop.
 * Node ids are describeClusterInfo's (`<instance>-shard-<n>-<master|replica>`); roles are JD's master/slave.
 */

const v1Status = (s: string): string => (s === 'running' || s === 'success' ? s : 'error');
const v2Status = (s: string): string => (s === 'error' ? 'fail' : s);

const startOf = (a: AnalysisRecord): string => formatJdTime(new Date(Number(a.row.started_ms)));
const finishOf = (a: AnalysisRecord): string => (Number(a.row.finished_ms) > 0 ? formatJdTime(new Date(Number(a.row.finished_ms))) : '');
const durationOf = (a: AnalysisRecord, nowMs: number): string => {
  const end = Number(a.row.finished_ms) > 0 ? Number(a.row.finished_ms) : nowMs;
  return `${Math.max(0, Math.round((end - Number(a.row.started_ms)) / 1000))}s`;
};

export const nodeIdOf = (instanceId: string, shard: number, slot: 'master' | 'replica'): string => `${instanceId}-shard-${shard}-${slot}`;
const jdRole = (slot: 'master' | 'replica'): string => (slot === 'master' ? 'master' : 'slave');

/** describeCacheAnalysisList / describeBigKeyList: CacheAnalysis. */
export const analysisListItem = (a: AnalysisRecord) => ({ analysisTime: startOf(a), taskId: a.row.id, status: v1Status(a.row.status) });

const redisKey = (k: AnalysedKey) => ({ name: k.name, db: k.db, size: k.size, keyType: k.type, frequency: k.freq });
const bigKey = (k: AnalysedKey) => ({ name: k.name, db: k.db, size: k.size });

/** describeCacheAnalysisResult (analysisType 0 manual, 1 automatic). Hot keys are the hottest over every shard. */
export function cacheAnalysisResult(a: AnalysisRecord) {
  const r = a.result!;
  const hot = r.nodes.flatMap((n) => n.hot).sort((x, y) => y.freq - x.freq || x.name.localeCompare(y.name)).slice(0, a.thresholds.top);
  return {
    startTime: startOf(a),
    finishTime: finishOf(a),
    analysisType: a.row.automatic ? 1 : 0,
    stringBigKeys: r.big.string.map(redisKey),
    otherBigKeys: BIG_KEY_TYPES.filter((t) => t !== 'string')
      .flatMap((t) => r.big[t])
      .map(redisKey),
    hotKeys: hot.map(redisKey),
    cmdCallTimesTop: r.cmdCalls,
    cmdUseCpuTop: r.cmdCpuMs,
    keyTypeDistribution: r.keyTypes,
    keySizeDistribution: r.keySizes,
  };
}

/** describeBigKeyDetail (here JD numbers analysisType the other way round: 0 automatic, 1 manual). */
export function bigKeyDetail(a: AnalysisRecord) {
  const r = a.result!;
  return {
    startTime: startOf(a),
    finishTime: finishOf(a),
    analysisType: a.row.automatic ? 0 : 1,
    stringBigKeys: r.big.string.map(bigKey),
    hashBigKeys: r.big.hash.map(bigKey),
    listBigKeys: r.big.list.map(bigKey),
    zsetBigKeys: r.big.zset.map(bigKey),
    setBigKeys: r.big.set.map(bigKey),
  };
}

/** describeBigKeyList2: ClusterCacheAnalysis. No result file is offered for download: downloadUrl is empty. */
export const bigKeyListItem2 = (a: AnalysisRecord, nowMs: number) => ({
  analysisTime: startOf(a),
  taskId: a.row.id,
  analysisDuration: durationOf(a, nowMs),
  downloadUrl: '',
  status: v2Status(a.row.status),
});

/**
 * describeBigKeyDetail2. The Go SDK's BigKeyAnalysisNode declares stringTypeNum and listTypeNum as
 * strings (the other three as integers); they are sent so, or Go clients could not decode the answer.
 */
export function bigKeyDetail2(a: AnalysisRecord, nowMs: number) {
  const { top: _top, ...sizes } = a.thresholds;
  const nodes: NodeFindings[] = a.result?.nodes ?? [];
  return {
    taskId: a.row.id,
    ...sizes,
    status: v2Status(a.row.status),
    analysisTime: startOf(a),
    analysisDuration: durationOf(a, nowMs),
    bigKeyAnalysisNodesList: nodes.map((n) => ({
      nodeId: nodeIdOf(a.row.instance_id, n.shard, n.scanned),
      nodeRole: jdRole(n.scanned),
      stringTypeNum: String(n.bigCounts.string),
      listTypeNum: String(n.bigCounts.list),
      setTypeNum: n.bigCounts.set,
      hashTypeNum: n.bigCounts.hash,
      zsetTypeNum: n.bigCounts.zset,
    })),
  };
}

/** Hot keys per node (the masters, where OBJECT FREQ was read), over `runs`: distinct hot keys each. */
export function hotKeyNodes(instanceId: string, runs: AnalysisRecord[]) {
  const byNode = new Map<number, Set<string>>();
  const counts = new Map<number, number>();
  for (const a of runs) {
    for (const n of a.result?.nodes ?? []) {
      const keys = byNode.get(n.shard) ?? new Set<string>();
      for (const k of n.hot) keys.add(`${k.db}:${k.name}`);
      byNode.set(n.shard, keys);
      // A single run knows how many were hot beyond the ones it kept; over several runs, distinct kept keys.
      counts.set(n.shard, runs.length === 1 ? n.hotCount : keys.size);
    }
  }
  return [...counts.entries()].sort(([a], [b]) => a - b).map(([shard, hotKeyNum]) => ({ nodeId: nodeIdOf(instanceId, shard, 'master'), nodeRole: 'master', hotKeyNum }));
}

/**
 * Hot keys of one node over `runs` (newest first), hottest first: each key once, with the LFU counter
 * and time of the run that saw it hottest. accessCount is Redis's logarithmic LFU counter (0-255), not a
 * count of accesses: Redis keeps no exact count.
 */
export function hotKeysOf(instanceId: string, nodeId: string, runs: AnalysisRecord[]) {
  const best = new Map<string, { key: string; accessTime: string; accessCount: number; db: number }>();
  for (const a of runs) {
    for (const n of a.result?.nodes ?? []) {
      if (nodeIdOf(instanceId, n.shard, 'master') !== nodeId) continue;
      for (const k of n.hot) {
        const id = `${k.db}:${k.name}`;
        const seen = best.get(id);
        if (!seen || k.freq > seen.accessCount) best.set(id, { key: k.name, accessTime: startOf(a), accessCount: k.freq, db: k.db });
      }
    }
  }
  return [...best.values()].sort((x, y) => y.accessCount - x.accessCount || x.key.localeCompare(y.key));
}
