/**
 * Wire types of the nine JCS for Redis operations this client speaks (reference §4). Responses are
 * typed with the fields the service documents; unknown extra fields pass through untouched.
 */

export type CacheInstanceStatus =
  | 'creating'
  | 'running'
  | 'error'
  | 'changing'
  | 'deleting'
  | 'configuring'
  | 'restoring'
  | 'upgrading';

export interface AzId {
  master: string;
  slave: string;
}

export interface Charge {
  chargeMode?: string;
  chargeStatus?: string;
  chargeStartTime?: string;
  chargeExpiredTime?: string;
}

export interface Tag {
  key?: string;
  value?: string;
}

export interface CacheInstance {
  cacheInstanceId: string;
  cacheInstanceName: string;
  cacheInstanceClass: string;
  cacheInstanceMemoryMB: number;
  cacheInstanceStatus: CacheInstanceStatus;
  cacheInstanceDescription?: string;
  createTime: string;
  azId?: AzId;
  vpcId?: string;
  subnetId?: string;
  connectionDomain: string;
  port: number;
  charge?: Charge;
  instanceVersion?: string;
  auth?: boolean;
  redisVersion?: string;
  cacheInstanceType?: string;
  shardNumber?: number;
  memoryMBPerShard?: number;
  tags?: Tag[] | null;
  [field: string]: unknown;
}

export interface InstanceClass {
  instanceClass: string;
  instanceType?: string;
  cpu?: number;
  memoryMB: number;
  diskGB?: number;
  maxConnection?: number;
  bandwidthMbps?: number;
  [field: string]: unknown;
}

export interface Quota {
  name: string;
  max: number;
  used: number;
}

export interface Filter {
  name: string;
  values: string[];
  /** `eq` (default), `lt`, `le`, `gt`, `ge`, `ne`, `in`, `like`. */
  operator?: string;
}

export interface Sort {
  name: string;
  direction: 'asc' | 'desc';
}

export interface TagFilter {
  key: string;
  values?: string[];
}

export interface CacheInstanceSpec {
  vpcId: string;
  subnetId: string;
  cacheInstanceName: string;
  cacheInstanceClass: string;
  azId: AzId;
  password?: string;
  cacheInstanceDescription?: string;
  redisVersion?: string;
  shardNumber?: number;
  cacheInstanceType?: string;
  [field: string]: unknown;
}

export interface ChargeSpec {
  chargeMode?: string;
  chargeUnit?: string;
  chargeDuration?: number;
  autoRenew?: boolean;
}

export interface CreateCacheInstanceResult {
  cacheInstanceId: string;
  orderNum?: string;
  buyId?: string;
}

export interface DescribeCacheInstancesQuery {
  pageNumber?: number;
  pageSize?: number;
  filters?: Filter[];
  sorts?: Sort[];
  tagFilters?: TagFilter[];
  resourceGroupIds?: string[];
}

export interface DescribeCacheInstancesResult {
  cacheInstances: CacheInstance[];
  totalCount: number;
}

export interface DescribeCacheInstanceResult {
  cacheInstance: CacheInstance;
}

export interface DescribeInstanceClassResult {
  instanceClasses: InstanceClass[];
  totalCount: number;
}

export interface DescribeUserQuotaResult {
  quota: Quota;
}

/** One entry of an instance's history (GET …/events, an extension of this service). */
export interface InstanceEvent {
  time: string;
  type: string;
  data: Record<string, unknown>;
}

export interface DescribeInstanceEventsResult {
  events: InstanceEvent[];
}

export interface DescribeIpWhiteListResult {
  ipWhiteList: string[];
}

export interface ModifyCacheInstanceClassResult {
  orderNum?: string;
  buyId?: string;
}

/** Operations without output answer `{requestId}` only; the client returns `{}` for them. */
export type EmptyResult = Record<string, never>;
