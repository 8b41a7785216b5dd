/** Inputs of the instance operations, after the API has checked their shape (types, lengths, patterns). */

/** describeCacheInstances' query as the API parsed it; the store runs it as it is. */
export type { InstanceListQuery } from '../../store/instances-repo.ts';

export interface ChargeInput {
  chargeMode?: string;
  chargeUnit?: string;
  chargeDuration?: number;
  autoRenew?: boolean;
  autoChangeChargeMode?: boolean;
  autoChangeChargeModeDate?: string;
  buyScenario?: string;
}

export interface CreateInstanceInput {
  vpcId: string;
  subnetId: string;
  cacheInstanceName: string;
  cacheInstanceClass: string;
  password?: string;
  azId: { master: string; slave: string; azSpecifyType?: string; azsForCluster?: string[]; azsForProxy?: string[] };
  cacheInstanceDescription?: string;
  redisVersion?: string;
  ipv6On?: number;
  shardNumber?: number;
  userTags?: { key?: string; value?: string }[];
  resourceGroupId?: string;
  dbNum?: number;
  maxmemoryPolicy?: string;
  cacheInstanceType?: string;
  replicaNumber?: number;
  enableSmartProxy?: number;
  port?: number;
  cpuArchType?: string;
  backupId?: string;
  srcInstanceId?: string;
  configTemplateId?: string;
  extension?: Record<string, unknown>;
  opsTags?: { key?: string; value?: string }[];
}

export interface ModifyClassInput {
  cacheInstanceClass: string;
  shardNumber?: number;
  replicaNumber?: number;
  replicaAzs2Add?: string[];
  parallel?: boolean;
  effectiveTime?: string;
}

/** Who asks, and where: every operation is scoped to one account and one region. */
export interface RequestScope {
  account: string;
  region: string;
}
