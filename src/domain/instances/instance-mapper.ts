import type { Selectable } from 'kysely';
import type { InstancesTable } from '../../store/schema.ts';

export type InstanceRow = Selectable<InstancesTable>;

/** A tag as the API carries it. */
export interface Tag {
  key: string;
  value: string;
}

/** The `CacheInstance` response model, fields up to the SDK 2.6.24 era (reference §4.0). */
export interface CacheInstanceView {
  cacheInstanceId: string;
  cacheInstanceName: string;
  cacheInstanceClass: string;
  cacheInstanceMemoryMB: number;
  cacheInstanceStatus: string;
  cacheInstanceDescription: string;
  createTime: string;
  azId: { master: string; slave: string };
  vpcId: string;
  subnetId: string;
  connectionDomain: string;
  port: number;
  charge: { chargeMode: string; chargeStatus: string; chargeStartTime: string; chargeExpiredTime?: string };
  instanceVersion: string;
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
}

export interface ViewContext {
  advertisedHost: string;
  /** Published port (shard 0 master), or 0 while none is reserved. */
  port: number;
  tags: Tag[];
  /** Version of the redis-server that runs the instances, e.g. `7.0`. */
  engineVersion: string;
  cpuArchType: string;
}

export function toCacheInstanceView(row: InstanceRow, ctx: ViewContext): CacheInstanceView {
  const charge: CacheInstanceView['charge'] = {
    chargeMode: row.charge_mode,
    chargeStatus: 'normal',
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
    azId: { master: row.az_master, slave: row.az_slave },
    vpcId: row.vpc_id,
    subnetId: row.subnet_id,
    connectionDomain: ctx.advertisedHost,
    port: ctx.port,
    charge,
    instanceVersion: `${row.redis_version}-${ctx.engineVersion}`,
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
  };
}
