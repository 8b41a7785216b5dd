/**
 * What a finished cache analysis stored (cache_analyses.result), written by the engine's cacheAnalysis
 * handler and read by the API's views. One model for every JD family (cacheAnalysis, bigKey, bigKey2,
 * hotKey*): they all look at the same run.
 */

/** A key as the analysis reports it. */
export interface AnalysedKey {
  name: string;
  db: number;
  /** string, list, hash, set, zset. */
  type: string;
  /** Bytes of a string, elements of the others. */
  size: number;
  /** LFU counter (OBJECT FREQ on the master) when the instance has an LFU policy, else 0. */
  freq: number;
}

/** The big-key types JD reports; streams are counted in the distributions only. */
export const BIG_KEY_TYPES = ['string', 'list', 'hash', 'set', 'zset'] as const;
export type BigKeyType = (typeof BIG_KEY_TYPES)[number];

/** One shard's findings, by the node that was read. */
export interface NodeFindings {
  shard: number;
  /** The node scanned for sizes: the shard's replica when it served, else its master. */
  scanned: 'master' | 'replica';
  /** Big keys found per type (all of them; the lists below keep the largest `top`). */
  bigCounts: Record<BigKeyType, number>;
  /** Keys whose LFU counter is above a new key's (5): read or written since they last cooled down. */
  hotCount: number;
  /** The hottest keys (at most `top`), hottest first. */
  hot: AnalysedKey[];
}

export interface AnalysisResult {
  /** Largest big keys per type over every shard (at most `top` each), largest first. */
  big: Record<BigKeyType, AnalysedKey[]>;
  nodes: NodeFindings[];
  /** Keys per type, over every shard. */
  keyTypes: Record<string, number>;
  /** Keys per MEMORY USAGE bucket (SIZE_BUCKETS), over every shard. */
  keySizes: Record<string, number>;
  /** Commands by calls and by CPU time (ms), summed over masters since they started; top 10 each. */
  cmdCalls: Array<{ name: string; data: number }>;
  cmdCpuMs: Array<{ name: string; data: number }>;
  /** Whether hot keys could be measured (the instance had an LFU policy). */
  lfu: boolean;
  /** Keys looked at. */
  keys: number;
}

/** MEMORY USAGE buckets of keySizeDistribution, by upper bound in bytes. */
export const SIZE_BUCKETS: ReadonlyArray<[string, number]> = [
  ['0-1KB', 1024],
  ['1KB-10KB', 10 * 1024],
  ['10KB-100KB', 100 * 1024],
  ['100KB-1MB', 1024 * 1024],
  ['1MB+', Infinity],
];

/** A new key's LFU counter (Redis's LFU_INIT_VAL): keys above it were accessed since they cooled down. */
export const LFU_INIT_VAL = 5;
