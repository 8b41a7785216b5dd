import type { PurgeFilter } from '../../drivers/driver.ts';
import type { ClearDataRow } from '../../store/clear-data-repo.ts';

/** Where a purge stands on one shard. */
export interface ShardPurge {
  /** The driver's cursor for the next batch; null before the first one. */
  cursor: string | null;
  done: boolean;
  /** Keys scanned so far, matching or not. */
  examined: number;
  /** Keys the shard held when the purge first reached it; null until then. */
  keysAtStart: number | null;
}

/**
 * A purge's durable state (clear_data.state). `pending` is the batch the last scan found, not yet all
 * deleted (the shard's cursor is already past it); it is deleted in chunks, and `inFlight` (the first
 * keys of it) is written before each chunk's delete: after a crash those keys are deleted again where
 * they still match, and those already gone are counted then, so no key is counted twice and none
 * deleted by this purge is missed.
 */
export interface PurgeState {
  shards: ShardPurge[];
  pending: { shard: number; keys: string[]; inFlight: number } | null;
}

export function parsePurgeState(json: string, shardCount: number): PurgeState {
  const parsed = JSON.parse(json) as Partial<PurgeState>;
  const shards = parsed.shards ?? Array.from({ length: shardCount }, () => ({ cursor: null, done: false, examined: 0, keysAtStart: null }));
  const pending = parsed.pending ? { ...parsed.pending, inFlight: parsed.pending.inFlight ?? parsed.pending.keys.length } : null;
  return { shards, pending };
}

/**
 * Percent done, measured: each shard counts the keys scanned against the keys it held when the purge
 * reached it (at most 99 until its scan has ended, since keys written meanwhile are scanned too).
 */
export function purgeProgress(state: PurgeState): number {
  if (state.shards.length === 0) return 100;
  const parts = state.shards.map((s) => (s.done ? 1 : s.keysAtStart === null ? 0 : Math.min(0.99, s.examined / Math.max(1, s.keysAtStart))));
  return Math.floor((100 * parts.reduce((a, b) => a + b, 0)) / parts.length);
}

/** The driver's filter for a purge as the API stored it. */
export function purgeFilterOf(row: Pick<ClearDataRow, 'clear_type' | 'key_pattern' | 'key_filter'>): PurgeFilter {
  if (row.clear_type === 'AllData') return { mode: 'all', pattern: '*', conditions: [] };
  if (row.clear_type === 'ExpiredData') return { mode: 'expired', pattern: '*', conditions: [] };
  const filters = JSON.parse(row.key_filter) as Array<{ filterType: 'ttl' | 'idle'; operator: 'eq' | 'gt' | 'lt'; value: number }>;
  return { mode: 'match', pattern: row.key_pattern || '*', conditions: filters.map((f) => ({ on: f.filterType, op: f.operator, value: f.value })) };
}
