import { readFileSync } from 'node:fs';
import type { InstanceTopology } from '../../drivers/driver.ts';

/** One entry of the class catalogue (catalogue/instance-classes.json). */
export interface InstanceClass {
  instanceClass: string;
  /** `master-slave`, `cluster` (proxy cluster) or `native-cluster`. */
  instanceType: 'master-slave' | 'cluster' | 'native-cluster';
  redisVersions: string[];
  /** Per shard when `perShard`, else for the whole instance. */
  memoryMB: number;
  perShard?: boolean;
  shardNumberList: number[];
  cpu: number;
  diskGB: number;
  maxConnection: number;
  bandwidthMbps: number;
}

export interface ClassCatalogue {
  /** Classes offered for a version: only those whose type the driver can build. */
  offered(redisVersion: string): InstanceClass[];
  /** Looks a class up whether or not it is offered. */
  find(code: string): InstanceClass | undefined;
  /** True when the driver can build this class. */
  isOffered(cls: InstanceClass): boolean;
  versions(): string[];
}

export function loadClassCatalogue(topologies: readonly InstanceTopology[], file?: URL): ClassCatalogue {
  const source = file ?? new URL('./instance-classes.json', import.meta.url);
  const classes = (JSON.parse(readFileSync(source, 'utf8')) as { classes: InstanceClass[] }).classes;
  const byCode = new Map(classes.map((c) => [c.instanceClass, c]));
  const isOffered = (c: InstanceClass): boolean => (topologies as readonly string[]).includes(c.instanceType);
  return {
    offered: (v) => classes.filter((c) => c.redisVersions.includes(v) && isOffered(c)),
    find: (code) => byCode.get(code),
    isOffered,
    versions: () => [...new Set(classes.flatMap((c) => c.redisVersions))].sort(),
  };
}

/** Shards, memory per shard and connections per shard of a class at a given shard count. */
export function classShape(cls: InstanceClass, shardNumber: number): { shards: number; memoryMbPerShard: number; maxClients: number } {
  if (cls.perShard) return { shards: shardNumber, memoryMbPerShard: cls.memoryMB, maxClients: cls.maxConnection };
  return {
    shards: shardNumber,
    memoryMbPerShard: Math.floor(cls.memoryMB / shardNumber),
    maxClients: Math.floor(cls.maxConnection / shardNumber),
  };
}
