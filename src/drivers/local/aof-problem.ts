import { statfs } from 'node:fs/promises';
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
