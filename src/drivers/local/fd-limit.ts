import { readFile } from 'node:fs/promises';

/** Redis keeps this many descriptors for itself (CONFIG_MIN_RESERVED_FDS in server.h). */
const REDIS_RESERVED_FDS = 32;

/**
 * The hard "Max open files" limit that redis-server children inherit from this process, or null when
 * unlimited or unknown. Redis raises its soft limit up to the hard one, so the hard limit is what counts.
 */
export async function readOpenFilesHardLimit(limitsPath = '/proc/self/limits'): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(limitsPath, 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  if (hard === undefined || hard === 'unlimited') return null;
  const n = Number(hard);
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The `maxclients` Redis can honour under a hard fd limit (null: no cap known). */
export function capMaxClients(requested: number, hardLimit: number | null): number {
  if (hardLimit === null) return requested;
  return Math.max(1, Math.min(requested, hardLimit - REDIS_RESERVED_FDS));
}
