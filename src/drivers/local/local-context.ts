import type { InstanceSpec } from '../driver.ts';
import type { DriverLogger } from '../driver-logger.ts';
import type { AclCanon } from './acl-canon.ts';
import type { AdminPool } from './admin-pool.ts';
import { capMaxClients } from './fd-limit.ts';
import type { NodeSettings } from './node-state.ts';

/** What topology code (master-slave.ts, native-cluster.ts) gets from the local driver. */
export interface LocalContext {
  dataDir: string;
  redisServer: string;
  /** Address nodes bind to. */
  bindHost: string;
  /** Address the control plane connects to (loopback when `bindHost` is a wildcard). */
  host: string;
  logger: DriverLogger;
  pool: AdminPool;
  /** Hard open-files limit redis-server inherits, or null when unlimited/unknown (see fd-limit.ts). */
  fdHardLimit: number | null;
  /** The ACL LIST lines an instance's nodes must print (learnt from the redis-server binary at init). */
  aclCanon: AclCanon;
}

/** The maxclients a node can really have: the spec's, capped by the fd limit. */
export function effectiveMaxClients(ctx: LocalContext, spec: InstanceSpec): number {
  return capMaxClients(spec.maxClients, ctx.fdHardLimit);
}

export function nodeSettings(ctx: LocalContext, spec: InstanceSpec): NodeSettings {
  return {
    maxmemoryBytes: spec.memoryMbPerShard * 1024 * 1024,
    maxClients: effectiveMaxClients(ctx, spec),
    maxmemoryPolicy: spec.maxmemoryPolicy,
  };
}
