/**
 * What promising `bytes` per node means for one instance. The per-node figure comes from the driver
 * (drivers/local/memory-guard.ts `promisedNodeMemoryBytes`: maxmemory plus client, script and process
 * allowances), passed in by main.ts so the domain does not depend on a driver.
 */
export type NodePromise = (maxmemoryBytes: number) => number;

/** A master and a replica per shard, whatever the type (JD's replicaNumber is always 2 here). */
export const NODES_PER_SHARD = 2;

const MiB = 1024 * 1024;

/** Nodes and promised memory of an instance of `shards` shards of `memoryMbPerShard` each. */
export interface InstanceFootprint {
  nodes: number;
  /** Promised memory of one node. */
  nodeBytes: number;
  /** Promised memory of all nodes. */
  bytes: number;
  /** One node's maxmemory, for messages. */
  maxmemoryMb: number;
}

export function instanceFootprint(shards: number, memoryMbPerShard: number, nodePromise: NodePromise): InstanceFootprint {
  const nodes = shards * NODES_PER_SHARD;
  const nodeBytes = nodePromise(memoryMbPerShard * MiB);
  return { nodes, nodeBytes, bytes: nodes * nodeBytes, maxmemoryMb: memoryMbPerShard };
}

/** Whole MB, rounded up: a figure in a refusal must never understate what is needed. */
export const toMb = (bytes: number): number => Math.ceil(bytes / MiB);
