import { statfs } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { NodeState } from './node-state.ts';

/** Below this much free space the AOF failure is reported as a full disk. */
const FULL_BELOW_BYTES = 1024 * 1024;

/**
 * Why a node cannot persist, in words an operator can act on, or null when its last AOF write worked.
 * A node whose AOF write failed refuses every write (`MISCONF`) while still answering reads, so it must
 * not pass for healthy; Redis retries on its own and recovers once the disk has room again.
 */
export async function aofProblem(label: string, state: NodeState, nodeDir: string): Promise<string | null> {
  if (!state.aofWriteFailing) return null;
  const fs = await statfs(nodeDir).catch(() => null);
  const free = fs ? fs.bavail * fs.bsize : null;
  if (free !== null && free < FULL_BELOW_BYTES) {
    return `${label} ${state.tcpPort} cannot write its AOF: the disk holding ${nodeDir} is full (${Math.floor(free / 1024)} KB free); writes are refused until space returns`;
  }
  return `${label} ${state.tcpPort} cannot write its AOF (aof_last_write_status:err${free === null ? '' : `, ${Math.floor(free / 1048576)} MB free`}); writes are refused, see ${nodeDir}/redis.log`;
}

/**
 * Clears an AOF write error that Redis would keep although the disk has room again. Redis clears the
 * error only when a retried write succeeds, so a node whose AOF buffer emptied meanwhile (an AOF rewrite
 * finished during the error, seen on replicas that filled the disk mid-sync) stays in error; a master
 * then refuses every write, so no write ever comes to clear it. Switching AOF off and on makes Redis
 * start a fresh AOF from its dataset and reset the error. Returns whether it did so.
 */
export async function recoverStuckAof(client: Redis, state: NodeState, nodeDir: string): Promise<boolean> {
  if (!state.aofWriteFailing) return false;
  const fs = await statfs(nodeDir).catch(() => null);
  if (!fs || fs.bavail * fs.bsize < FULL_BELOW_BYTES) return false; // still full: Redis's own retries are the right wait
  await client.call('CONFIG', 'SET', 'appendonly', 'no');
  await client.call('CONFIG', 'SET', 'appendonly', 'yes');
  return true;
}
