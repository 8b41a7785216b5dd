import type { Selectable } from 'kysely';
import type { InstancesTable } from '../../store/schema.ts';

export type InstanceRow = Selectable<InstancesTable>;

/** A tag as the API carries it. */
export interface Tag {
  key: string;
  value: string;
}

/** The `CacheInstance` response model, every field of the newest SDK model (Go SDK 2.7.46; reference §4.0). */
export interface CacheInstanceView {
  cacheInstanceId: string;
  cacheInstanceName: string;
  cacheInstanceClass: string;
  cacheInstanceMemoryMB: number;
  cacheInstanceStatus: string;
  cacheInstanceDescription: string;
  createTime: string;
  /** There is no recycle bin: a deleted instance is gone, so these stay empty. */
  softDeletedTime: string;
  retainExpireTime: string;
  azId: { azSpecifyType: string; azsForCluster: string[]; master: string; slave: string; azsForProxy: string[] };
  vpcId: string;
  subnetId: string;
  connectionDomain: string;
  port: number;
  charge: { chargeMode: string; chargeStatus: string; chargeStartTime: string; chargeExpiredTime?: string };
  instanceVersion: string;
  /** No proxy runs in front of any instance type built here: empty. */
  instanceProxyVersion: string;
  auth: boolean;
  redisVersion: string;
  cacheInstanceType: string;
  ipv6On: number;
  tags: Tag[] | null;
  shardNumber: number;
  memoryMBPerShard: number;
  extension: Record<string, unknown>;
  resourceGroupId: string;
  otherDomains: { domainName: string }[];
  slaveAppendonly: string;
  databaseNum: string;
  maxmemoryPolicy: string;
  replicaNumber: number;
  enableSmartProxy: number;
  cpuArchType: string;
  isAllowNoAuth: boolean;
  /** No maintenance window: every change applies at once, so these stay empty. */
  maintenanceStartTime: string;
  maintenanceEndTime: string;
  /** Tasks waiting for the maintenance window: never any. */
  toBeExecutedTaskType: number[];
  supportAssociateEIP: boolean;
  platform: string;
}

export interface ViewContext {
  advertisedHost: string;
  /** Published port (shard 0 master), or 0 while none is reserved. */
  port: number;
  tags: Tag[];
  /** Version of the redis-server that runs the instances, e.g. `7.0`. */
  engineVersion: string;
  cpuArchType: string;
  /** Now, for the charge status: a prepaid instance past its expiry is `overdue`. */
  now: Date;
}

export function toCacheInstanceView(row: InstanceRow, ctx: ViewContext): CacheInstanceView {
  const charge: CacheInstanceView['charge'] = {
    chargeMode: row.charge_mode,
    // JD's statuses: normal, overdue (a prepaid instance past its expiry), arrear (owes money: no
    // billing here, so never).
    chargeStatus: row.charge_expired_time && new Date(row.charge_expired_time) <= ctx.now ? 'overdue' : 'normal',
    chargeStartTime: row.charge_start_time,
  };
  if (row.charge_expired_time) charge.chargeExpiredTime = row.charge_expired_time;
  return {
    cacheInstanceId: row.id,
    cacheInstanceName: row.name,
    cacheInstanceClass: row.instance_class,
    cacheInstanceMemoryMB: row.memory_mb_per_shard * row.shard_number,
    cacheInstanceStatus: row.status,
    cacheInstanceDescription: row.description,
    createTime: row.create_time,
    softDeletedTime: '',
    retainExpireTime: '',
    azId: { azSpecifyType: 'SpecifyByReplicaGroup', azsForCluster: [], master: row.az_master, slave: row.az_slave, azsForProxy: [] },
    vpcId: row.vpc_id,
    subnetId: row.subnet_id,
    connectionDomain: row.endpoint_host ?? ctx.advertisedHost,
    port: ctx.port,
    charge,
    instanceVersion: `${row.redis_version}-${ctx.engineVersion}`,
    // JD's proxy version format is `x.x-x.x`; ours is twemproxy's.
    instanceProxyVersion: row.instance_type === 'cluster' ? 'twemproxy-0.5.0' : '',
    auth: row.password_sha256 !== null,
    redisVersion: row.redis_version,
    cacheInstanceType: row.instance_type,
    ipv6On: row.ipv6_on,
    tags: ctx.tags.length > 0 ? ctx.tags : null,
    shardNumber: row.shard_number,
    memoryMBPerShard: row.memory_mb_per_shard,
    extension: row.status_reason ? { statusReason: row.status_reason } : {},
    resourceGroupId: row.resource_group_id,
    otherDomains: [],
    slaveAppendonly: 'yes',
    databaseNum: String(row.db_num),
    maxmemoryPolicy: row.maxmemory_policy,
    replicaNumber: 2,
    enableSmartProxy: 0,
    cpuArchType: ctx.cpuArchType,
    isAllowNoAuth: true,
    maintenanceStartTime: '',
    maintenanceEndTime: '',
    toBeExecutedTaskType: [],
    supportAssociateEIP: false,
    platform: '',
  };
}
