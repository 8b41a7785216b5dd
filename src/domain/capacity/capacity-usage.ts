import { instanceFootprint, type NodePromise } from './instance-footprint.ts';

/** One group of instances with the same owner, region and memory per shard (store/capacity-repo.ts). */
export interface FootprintGroup {
  account: string;
  region: string;
  memoryMbPerShard: number;
  /** Shards of all instances in the group. */
  shards: number;
  instances: number;
}

/** What is promised already: on the whole host, and to one account in one region. */
export interface CapacityUsage {
  hostBytes: number;
  account: { instances: number; nodes: number; bytes: number };
}

/** Sums the groups. Every instance that has a row counts, whatever its status: its processes may still run. */
export function capacityUsage(groups: readonly FootprintGroup[], account: string, region: string, nodePromise: NodePromise): CapacityUsage {
  const usage: CapacityUsage = { hostBytes: 0, account: { instances: 0, nodes: 0, bytes: 0 } };
  for (const g of groups) {
    const f = instanceFootprint(g.shards, g.memoryMbPerShard, nodePromise);
    usage.hostBytes += f.bytes;
    if (g.account === account && g.region === region) {
      usage.account.instances += g.instances;
      usage.account.nodes += f.nodes;
      usage.account.bytes += f.bytes;
    }
  }
  return usage;
}
