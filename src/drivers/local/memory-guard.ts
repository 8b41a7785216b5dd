/**
 * How much memory one node may use beyond its class's `maxmemory`, and the redis.conf lines that hold
 * it there. Redis counts client buffers inside `used_memory` but, when the data cannot be evicted,
 * lets them grow past `maxmemory` without bound; the Lua heap is outside `maxmemory` altogether.
 * Measured on redis-server 7.0.15 with a 1 GiB node (docs/capacity.md has the figures): 300 clients
 * announcing 32 MB values reached 12 GB of used_memory (1.2 GB resident), 40 clients not reading 1 MB
 * replies 1.4 GB; with these lines 121 MB and 108 MB, and the flooding clients were disconnected.
 */

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, Math.floor(value)));

/** One node's memory budget, in bytes. `promisedBytes` is the sum of the other four. */
export interface NodeMemoryBudget {
  maxmemoryBytes: number;
  /** `maxmemory-clients`: query and output buffers of all normal and pub/sub clients together. */
  clientsBytes: number;
  /** Lua heap of EVAL scripts (`used_memory_vm_eval`) above which observe flushes the script cache. */
  scriptsBytes: number;
  /** Process baseline, replication backlog and buffers, allocator fragmentation, copy-on-write while an AOF rewrite forks. */
  overheadBytes: number;
  /** What admission control counts for this node, and the limit of its memory cgroup. */
  promisedBytes: number;
}

/**
 * The budget of a node whose class gives it `maxmemoryBytes`. One eighth for clients (at least 32 MiB
 * so small classes keep room for a few large replies, at most 2 GiB since no application needs more
 * in flight at once), one sixteenth for the Lua heap (16 MiB to 512 MiB), and 32 MiB + one eighth as
 * overhead: about 1.34 x maxmemory for a 1 GiB node, 1.19 x for 32 GiB, close to the 25 % that
 * ElastiCache reserves by default (`reserved-memory-percent`).
 */
export function nodeMemoryBudget(maxmemoryBytes: number): NodeMemoryBudget {
  if (!Number.isSafeInteger(maxmemoryBytes) || maxmemoryBytes < MiB) {
    throw new Error(`maxmemory must be an integer of at least 1 MiB, got ${maxmemoryBytes}`);
  }
  const clientsBytes = clamp(maxmemoryBytes / 8, 32 * MiB, 2 * GiB);
  const scriptsBytes = clamp(maxmemoryBytes / 16, 16 * MiB, 512 * MiB);
  const overheadBytes = 32 * MiB + Math.floor(maxmemoryBytes / 8);
  return {
    maxmemoryBytes,
    clientsBytes,
    scriptsBytes,
    overheadBytes,
    promisedBytes: maxmemoryBytes + clientsBytes + scriptsBytes + overheadBytes,
  };
}

/** What one node is promised: the figure host admission control and account quotas count. */
export function promisedNodeMemoryBytes(maxmemoryBytes: number): number {
  return nodeMemoryBudget(maxmemoryBytes).promisedBytes;
}

/**
 * The guard as `[name, value]` pairs: rendered into redis.conf by `memoryGuardLines`, and applied live
 * with `CONFIG SET name value` when a resize changes maxmemory (every value derives from it).
 */
export function memoryGuardSettings(maxmemoryBytes: number): [string, string][] {
  const { clientsBytes } = nodeMemoryBudget(maxmemoryBytes);
  // The largest single argument (a value in SET, an element in RPUSH). Redis reserves the announced
  // length as soon as it reads `$<length>`, before any of the data arrives, so a flood of authenticated
  // clients each announcing this much is what client eviction has to catch up with; a quarter of the
  // client budget lets four such writes be in flight at once. 32 MiB for a 1 GiB node, Redis's own
  // 512 MiB from 16 GiB up. (Unauthenticated clients cannot announce more than 16 KiB in Redis 7.)
  const protoMaxBulkLen = clamp(clientsBytes / 4, MiB, 512 * MiB);
  // A client's unprocessed input: one maximal argument plus the commands behind it, while it is
  // blocked (BLPOP) or paused. Redis's default is 1 GiB whatever the class.
  const queryBufferLimit = 2 * protoMaxBulkLen;
  // Normal clients may hold up to the whole client budget in replies (a large HGETALL or an unread
  // pipeline); `maxmemory-clients` disconnects the biggest clients first once the sum is over, so this
  // per-client cap matters only for a client exempt from eviction (CLIENT NO-EVICT, which tenants must
  // not be able to run: MEMORY_GUARD_DENIED_COMMANDS).
  const normal = `normal ${clientsBytes} 0 0`;
  // Redis's pub/sub defaults (32 MiB hard, 8 MiB for 60 s), smaller when the client budget is small.
  const pubsub = `pubsub ${Math.min(32 * MiB, Math.floor(clientsBytes / 4))} ${Math.min(8 * MiB, Math.floor(clientsBytes / 16))} 60`;
  return [
    ['maxmemory-clients', String(clientsBytes)],
    ['proto-max-bulk-len', String(protoMaxBulkLen)],
    ['client-query-buffer-limit', String(queryBufferLimit)],
    // Replica buffers keep Redis's default (256 MiB hard, 64 MiB for 60 s): cutting them would turn a
    // burst of writes during a full sync into an endless resync loop. They are inside `overheadBytes`.
    ['client-output-buffer-limit', `${normal} ${pubsub}`],
  ];
}

/** The guard's redis.conf lines, for the node conf renderer (after `maxmemory`). */
export function memoryGuardLines(maxmemoryBytes: number): string[] {
  return memoryGuardSettings(maxmemoryBytes).map(([name, value]) => `${name} ${value}`);
}

/**
 * Commands the tenant's ACL user must not run for the guard to hold: `CLIENT NO-EVICT on` exempts a
 * connection from `maxmemory-clients` (measured: 40 such clients held 1.4 GB against a 64 MB limit).
 * In ACL rule form (`-client|no-evict`). CONFIG is already denied, so the limits cannot be raised.
 */
export const MEMORY_GUARD_DENIED_COMMANDS = ['client|no-evict'] as const;
