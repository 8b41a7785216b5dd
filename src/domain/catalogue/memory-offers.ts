import type { ClassCatalogue, InstanceClass } from './instance-class-catalogue.ts';

/** One way to build an instance of a given total memory: a class at a shard count. */
export interface Flavor {
  cls: InstanceClass;
  shardNumber: number;
  /** Redis nodes it runs (a master and a replica per shard): the "IP number" JD reports. */
  nodes: number;
  /** Whole-instance figures: per-shard figures of a per-shard class times the shard count. */
  cpu: number;
  diskGB: number;
  maxConnection: number;
  bandwidthMbps: number;
}

/** A total memory that can be bought for one type and version, with every flavor that gives it. */
export interface MemoryOffer {
  memoryMB: number;
  /** Ordered by shard count. */
  flavors: Flavor[];
  /** The flavor proposed by default: the middle shard count (JD proposes 4 of 2, 4, 8 for 16 GB). */
  preferred: Flavor;
}

export const NODES_PER_SHARD = 2;

function flavor(cls: InstanceClass, shardNumber: number): Flavor {
  const times = cls.perShard ? shardNumber : 1;
  return {
    cls,
    shardNumber,
    nodes: shardNumber * NODES_PER_SHARD,
    cpu: cls.cpu * times,
    diskGB: cls.diskGB * times,
    maxConnection: cls.maxConnection * times,
    bandwidthMbps: cls.bandwidthMbps * times,
  };
}

/**
 * The memory sizes offered for one instance type and engine version, smallest first, from the class
 * catalogue: a whole-instance class is one size; a per-shard class gives shards × its memory for each
 * shard count it allows, and sizes reached by several classes list each as a flavor.
 */
export function memoryOffers(catalogue: ClassCatalogue, redisVersion: string, instanceType: string): MemoryOffer[] {
  const byMemory = new Map<number, Flavor[]>();
  for (const cls of catalogue.offered(redisVersion).filter((c) => c.instanceType === instanceType)) {
    const counts = cls.perShard ? cls.shardNumberList : [cls.shardNumberList[0] ?? 1];
    for (const n of counts) {
      const f = flavor(cls, n);
      const total = cls.perShard ? cls.memoryMB * n : cls.memoryMB;
      byMemory.set(total, [...(byMemory.get(total) ?? []), f]);
    }
  }
  return [...byMemory.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([memoryMB, flavors]) => {
      const sorted = flavors.sort((a, b) => a.shardNumber - b.shardNumber);
      return { memoryMB, flavors: sorted, preferred: sorted[Math.floor((sorted.length - 1) / 2)]! };
    });
}

/** Instance types offered for a version, in the catalogue's order (master-slave first). */
export function offeredTypes(catalogue: ClassCatalogue, redisVersion: string): InstanceClass['instanceType'][] {
  return [...new Set(catalogue.offered(redisVersion).map((c) => c.instanceType))];
}

/** GB as JD reports it: an integer (sizes here are whole GB). */
export const gb = (mb: number): number => Math.round(mb / 1024);
