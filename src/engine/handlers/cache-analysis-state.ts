import type { AnalysisScanResult, KeySample } from '../../drivers/driver.ts';
import { BIG_KEY_TYPES, LFU_INIT_VAL, SIZE_BUCKETS, type AnalysedKey, type AnalysisResult, type BigKeyType } from '../../domain/analysis/analysis-result.ts';
import type { Thresholds } from '../../domain/analysis/analysis-rules.ts';

/** Where the analysis of one shard stands, and what it found so far. */
export interface ShardAnalysis {
  cursor: string | null;
  done: boolean;
  examined: number;
  /** Keys the shard held when the analysis reached it; null until then. */
  keysAtStart: number | null;
  scanned: 'master' | 'replica';
  keyTypes: Record<string, number>;
  keySizes: Record<string, number>;
  bigCounts: Record<BigKeyType, number>;
  big: Record<BigKeyType, AnalysedKey[]>;
  hotCount: number;
  hot: AnalysedKey[];
}

/** An analysis's durable state (cache_analyses.state): saved after each run of its task, so a crash repeats at most one run. */
export interface AnalysisState {
  shards: ShardAnalysis[];
}

const zeroCounts = (): Record<BigKeyType, number> => ({ string: 0, list: 0, hash: 0, set: 0, zset: 0 });
const noKeys = (): Record<BigKeyType, AnalysedKey[]> => ({ string: [], list: [], hash: [], set: [], zset: [] });

export function freshShard(): ShardAnalysis {
  return { cursor: null, done: false, examined: 0, keysAtStart: null, scanned: 'replica', keyTypes: {}, keySizes: {}, bigCounts: zeroCounts(), big: noKeys(), hotCount: 0, hot: [] };
}

export function parseAnalysisState(json: string, shardCount: number): AnalysisState {
  const parsed = JSON.parse(json) as Partial<AnalysisState>;
  return { shards: parsed.shards ?? Array.from({ length: shardCount }, freshShard) };
}

/** Keeps the `top` largest of `list` by `by`, largest first. */
function keepTop(list: AnalysedKey[], add: AnalysedKey[], top: number, by: (k: AnalysedKey) => number): AnalysedKey[] {
  if (add.length === 0) return list;
  return [...list, ...add].sort((a, b) => by(b) - by(a) || a.name.localeCompare(b.name)).slice(0, top);
}

const threshold = (t: Thresholds, type: BigKeyType): number => t[`${type}Size`];
const isBigKeyType = (type: string): type is BigKeyType => (BIG_KEY_TYPES as readonly string[]).includes(type);

/** Adds one batch of the shard's scan to its tallies (a batch that restarted the shard drops them first). */
export function tallyBatch(state: AnalysisState, shard: number, batch: AnalysisScanResult, t: Thresholds): void {
  const prev = batch.restarted ? freshShard() : state.shards[shard]!;
  const s: ShardAnalysis = { ...prev, cursor: batch.cursor, done: batch.cursor === null, examined: prev.examined + batch.keys.length, scanned: batch.slot };
  s.keysAtStart ??= batch.shardKeys;
  const big: AnalysedKey[] = [];
  const hot: AnalysedKey[] = [];
  for (const k of batch.keys) {
    s.keyTypes[k.type] = (s.keyTypes[k.type] ?? 0) + 1;
    const bucket = SIZE_BUCKETS.find(([, max]) => k.bytes < max)![0];
    s.keySizes[bucket] = (s.keySizes[bucket] ?? 0) + 1;
    const key = toKey(k);
    if (isBigKeyType(k.type) && k.size > threshold(t, k.type)) {
      s.bigCounts[k.type] += 1;
      big.push(key);
    }
    if (k.freq !== null && k.freq > LFU_INIT_VAL) {
      s.hotCount += 1;
      hot.push(key);
    }
  }
  s.big = { ...s.big };
  for (const type of BIG_KEY_TYPES) s.big[type] = keepTop(s.big[type], big.filter((k) => k.type === type), t.top, (k) => k.size);
  s.hot = keepTop(s.hot, hot, t.top, (k) => k.freq);
  state.shards[shard] = s;
}

const toKey = (k: KeySample): AnalysedKey => ({ name: k.name, db: k.db, type: k.type, size: k.size, freq: k.freq ?? 0 });

/** Percent scanned, measured per shard against the keys it held when the analysis reached it (99 at most until done). */
export function analysisProgress(state: AnalysisState): number {
  if (state.shards.length === 0) return 100;
  const parts = state.shards.map((s) => (s.done ? 1 : s.keysAtStart === null ? 0 : Math.min(0.99, s.examined / Math.max(1, s.keysAtStart))));
  return Math.floor((100 * parts.reduce((a, b) => a + b, 0)) / parts.length);
}

/**
 * Commands a tenant cannot run (the control plane and replication do): left out of the command tops. What
 * both run (INFO, PING, ROLE, EVAL of this analysis) cannot be told apart in INFO commandstats and stays in.
 */
const CONTROL_PLANE_COMMANDS = new Set(['acl', 'cluster', 'config', 'replconf', 'psync', 'sync', 'slaveof', 'replicaof', 'failover', 'shutdown', 'debug', 'module']);

/** The finished result: shards merged, command statistics ranked. */
export function finishResult(state: AnalysisState, t: Thresholds, stats: Array<{ name: string; calls: number; usec: number }>, lfu: boolean): AnalysisResult {
  const add = (into: Record<string, number>, from: Record<string, number>): void => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const keyTypes: Record<string, number> = {};
  const keySizes: Record<string, number> = {};
  const big = noKeys();
  for (const s of state.shards) {
    add(keyTypes, s.keyTypes);
    add(keySizes, s.keySizes);
    for (const type of BIG_KEY_TYPES) big[type] = keepTop(big[type], s.big[type], t.top, (k) => k.size);
  }
  const tenant = stats.filter((c) => !CONTROL_PLANE_COMMANDS.has(c.name.split('|')[0]!));
  const top10 = (by: (c: { calls: number; usec: number }) => number) =>
    [...tenant].sort((a, b) => by(b) - by(a) || a.name.localeCompare(b.name)).slice(0, 10).map((c) => ({ name: c.name, data: by(c) }));
  return {
    big,
    nodes: state.shards.map((s, shard) => ({ shard, scanned: s.scanned, bigCounts: s.bigCounts, hotCount: s.hotCount, hot: s.hot })),
    keyTypes,
    keySizes,
    cmdCalls: top10((c) => c.calls),
    cmdCpuMs: top10((c) => Math.round(c.usec / 1000)),
    lfu,
    keys: state.shards.reduce((a, s) => a + s.examined, 0),
  };
}
