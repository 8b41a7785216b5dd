import { type LocalSpec } from './local-spec.ts';
import type { ChangeProgress } from '../driver.ts';
import type { DriverLogger } from '../driver-logger.ts';
import type { AclCanon } from './acl-canon.ts';
import type { AdminPool } from './admin-pool.ts';
import type { HungNodes } from './hung-nodes.ts';
import { capMaxClients } from './fd-limit.ts';
import type { MemoryCgroups } from './memory-cgroup.ts';
import { promisedNodeMemoryBytes } from './memory-guard.ts';
import type { NodeCgroup } from './redis-node.ts';
import type { NodeSettings } from './node-state.ts';
import type { ReshardSession } from './proxy-reshard.ts';
import type { RestoreMarker } from './restore-marker.ts';

/** What topology code (master-slave.ts, native-cluster.ts) gets from the local driver. */
export interface LocalContext {
  dataDir: string;
  redisServer: string;
  /** twemproxy binary for proxy clusters (Debian's `nutcracker`). */
  nutcracker: string;
  /** Address nodes bind to. */
  bindHost: string;
  /** Address the control plane connects to (loopback when `bindHost` is a wildcard). */
  host: string;
  logger: DriverLogger;
  pool: AdminPool;
  /** Nodes that accept connections but do not answer, and the bound after which they are fenced. */
  hung: HungNodes;
  /** Hard open-files limit redis-server inherits, or null when unlimited/unknown (see fd-limit.ts). */
  fdHardLimit: number | null;
  /** The ACL LIST lines an instance's nodes must print (learnt from the redis-server binary at init). */
  aclCanon: AclCanon;
  /** Memory cgroups for nodes, when the host has a usable memory controller and they are not turned off. */
  cgroups: MemoryCgroups | null;
  /** Reshards and type changes under way, by instance id: what Driver.changeProgress answers. */
  progress: Map<string, ChangeProgress>;
  /** Proxy-cluster reshards under way in this process, by instance id (proxy-reshard.ts). */
  proxyReshards: Map<string, ReshardSession>;
  /** How long one call of a type change copies before it answers progressing, ms (`JCS_RETYPE_STEP_MS`). */
  retypeStepMs: number;
  /** Restores under way in this process, by instance id: the marker holding their client ports (rdb-restore.ts). */
  restoreMarkers: Map<string, RestoreMarker>;
}

/** The memory cgroup of the node on `port`, sized for its class; undefined without cgroups. */
export function nodeCgroup(ctx: LocalContext, instanceId: string, port: number, maxmemoryBytes: number): NodeCgroup | undefined {
  const ref = nodeCgroupRef(ctx, instanceId, port);
  return ref && { ...ref, limitBytes: promisedNodeMemoryBytes(maxmemoryBytes) };
}

/** Which memory cgroup the node on `port` runs in (to remove it once the node stopped). */
export function nodeCgroupRef(ctx: LocalContext, instanceId: string, port: number): Pick<NodeCgroup, 'cg' | 'name'> | undefined {
  return ctx.cgroups ? { cg: ctx.cgroups, name: `${instanceId}-${port}` } : undefined;
}

/** The maxclients a node can really have: the spec's, capped by the fd limit. */
export function effectiveMaxClients(ctx: LocalContext, spec: LocalSpec): number {
  return capMaxClients(spec.maxClients, ctx.fdHardLimit);
}

export function nodeSettings(ctx: LocalContext, spec: LocalSpec): NodeSettings {
  return {
    maxmemoryBytes: spec.memoryMbPerShard * 1024 * 1024,
    maxClients: effectiveMaxClients(ctx, spec),
    maxmemoryPolicy: spec.maxmemoryPolicy,
  };
}
