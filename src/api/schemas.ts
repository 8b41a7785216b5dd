import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAX_IP_WHITE_LIST } from '../domain/instances/ip-white-list.ts';
import { PASSWORD_PATTERN, PASSWORD_RULE } from '../domain/instances/password-rule.ts';

/**
 * Request schemas of the operations (reference §4; §5 ops 27-28 for the IP white list). They validate
 * requests and generate /openapi.json. `description` doubles as the rule named in a validation error
 * message, so it states the rule ("2 to 32 letters, digits, _ or Chinese characters"), not the meaning.
 * Unknown keys are allowed (the Go and Python SDKs send path params and nulls in bodies).
 */

const NAME_RULE = '2 to 32 characters: letters, digits, _ or Chinese characters';
const name = Type.String({ pattern: '^[0-9A-Za-z_\\u4e00-\\u9fa5]{2,32}$', description: NAME_RULE });
const description = Type.String({ maxLength: 256, description: 'at most 256 characters' });
// The rule lives in the domain (one module, also for the console); the schema documents and applies it.
const password = Type.String({ pattern: PASSWORD_PATTERN, description: PASSWORD_RULE });
const zoneList = Type.Array(Type.String({ minLength: 1, maxLength: 32, description: 'a zone id such as cn-north-1a' }), { maxItems: 16, description: 'at most 16 zone ids' });
const tag = Type.Object({
  key: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: '1 to 128 characters' })),
  value: Type.Optional(Type.String({ maxLength: 256, description: 'at most 256 characters' })),
});
const idString = (what: string) => Type.String({ minLength: 1, maxLength: 64, description: `${what}: 1 to 64 characters` });

export const RegionParams = Type.Object({
  regionId: Type.String({ minLength: 1, maxLength: 32, description: 'region id, e.g. cn-north-1' }),
});
export const InstanceParams = Type.Object({
  regionId: Type.String({ minLength: 1, maxLength: 32, description: 'region id, e.g. cn-north-1' }),
  cacheInstanceId: Type.String({ minLength: 1, maxLength: 64, description: 'instance id, e.g. redis-abc123xyz0' }),
});

export const ChargeSpec = Type.Object(
  {
    chargeMode: Type.Optional(
      Type.Union([Type.Literal('prepaid_by_duration'), Type.Literal('postpaid_by_duration'), Type.Literal('postpaid_by_usage')], {
        description: 'one of prepaid_by_duration, postpaid_by_duration, postpaid_by_usage',
      }),
    ),
    chargeUnit: Type.Optional(Type.Union([Type.Literal('month'), Type.Literal('year')], { description: 'month or year' })),
    // The range depends on chargeMode and chargeUnit (prepaid only): the domain checks it, so a
    // postpaid order with any duration is not refused for a field it does not use.
    chargeDuration: Type.Optional(Type.Integer({ description: 'an integer' })),
    autoRenew: Type.Optional(Type.Boolean({ description: 'true or false' })),
    autoChangeChargeMode: Type.Optional(Type.Boolean({ description: 'true or false' })),
    autoChangeChargeModeDate: Type.Optional(Type.String({ maxLength: 10, description: 'a date yyyy-MM-dd' })),
    buyScenario: Type.Optional(Type.String({ maxLength: 4096, description: 'at most 4096 characters' })),
  },
  { description: 'charge settings' },
);

export const CacheInstanceSpec = Type.Object(
  {
    vpcId: idString('vpcId'),
    subnetId: idString('subnetId'),
    cacheInstanceName: name,
    cacheInstanceClass: Type.String({ minLength: 1, maxLength: 64, description: 'an instance class code from describeInstanceClass' }),
    password: Type.Optional(password),
    azId: Type.Object(
      {
        master: Type.String({ minLength: 1, maxLength: 32, description: 'zone of the primary, e.g. cn-north-1a' }),
        slave: Type.String({ minLength: 1, maxLength: 32, description: 'zone of the replica, e.g. cn-north-1b' }),
        azSpecifyType: Type.Optional(
          Type.Union([Type.Literal('SpecifyByReplicaGroup'), Type.Literal('SpecifyByCluster')], { description: 'SpecifyByReplicaGroup or SpecifyByCluster' }),
        ),
        azsForCluster: Type.Optional(zoneList),
        azsForProxy: Type.Optional(zoneList),
      },
      { description: 'an object with master and slave zones' },
    ),
    cacheInstanceDescription: Type.Optional(description),
    redisVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 8, description: 'an engine version such as 2.8 or 4.0' })),
    ipv6On: Type.Optional(Type.Integer({ minimum: 0, maximum: 1, description: '0 or 1' })),
    shardNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 128, description: 'an integer from 1 to 128' })),
    userTags: Type.Optional(Type.Array(tag, { maxItems: 20, description: 'at most 20 tags' })),
    resourceGroupId: Type.Optional(Type.String({ maxLength: 64, description: 'at most 64 characters' })),
    dbNum: Type.Optional(Type.Integer({ minimum: 16, maximum: 256, description: 'an integer from 16 to 256' })),
    // Replicas here always keep an AOF: on a failover a replica becomes the master and must restart from
    // its own files. "no" is refused rather than accepted and dropped (issue 16, gap 3).
    slaveAppendonly: Type.Optional(
      Type.Literal('yes', { description: '"yes": replicas always keep an AOF on this service (a replica takes over as master on failover); "no" is not supported' }),
    ),
    maxmemoryPolicy: Type.Optional(
      Type.Union(
        ['volatile-lru', 'allkeys-lru', 'volatile-lfu', 'allkeys-lfu', 'volatile-random', 'allkeys-random', 'volatile-ttl', 'noeviction'].map(
          (p) => Type.Literal(p),
        ),
        { description: 'a Redis eviction policy such as volatile-lru or noeviction' },
      ),
    ),
    cacheInstanceType: Type.Optional(
      Type.Union([Type.Literal('master-slave'), Type.Literal('cluster'), Type.Literal('native-cluster')], {
        description: 'master-slave, cluster or native-cluster',
      }),
    ),
    replicaNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'an integer from 1 to 10' })),
    enableSmartProxy: Type.Optional(Type.Integer({ minimum: 0, maximum: 1, description: '0 or 1' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'a TCP port' })),
    cpuArchType: Type.Optional(Type.Union([Type.Literal('amd64'), Type.Literal('arm64')], { description: 'amd64 or arm64' })),
    backupId: Type.Optional(Type.String({ maxLength: 64, description: 'at most 64 characters' })),
    srcInstanceId: Type.Optional(Type.String({ maxLength: 64, description: 'at most 64 characters' })),
    extension: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'an object' })),
    configTemplateId: Type.Optional(Type.String({ maxLength: 64, description: 'at most 64 characters' })),
    opsTags: Type.Optional(Type.Array(tag, { maxItems: 20, description: 'at most 20 tags' })),
  },
  { description: 'the instance to create' },
);

export const CreateBody = Type.Object({ cacheInstance: CacheInstanceSpec, charge: Type.Optional(ChargeSpec) });
export type CreateBody = Static<typeof CreateBody>;

export const ModifyAttributeBody = Type.Object({
  cacheInstanceName: Type.Optional(name),
  cacheInstanceDescription: Type.Optional(description),
});
export type ModifyAttributeBody = Static<typeof ModifyAttributeBody>;

export const ModifyClassBody = Type.Object({
  cacheInstanceClass: Type.String({ minLength: 1, maxLength: 64, description: 'an instance class code from describeInstanceClass' }),
  shardNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 128, description: 'an integer from 1 to 128' })),
  replicaNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, description: 'an integer from 1 to 10' })),
  replicaAzs2Add: Type.Optional(zoneList),
  parallel: Type.Optional(Type.Boolean({ description: 'true or false' })),
  effectiveTime: Type.Optional(Type.Union([Type.Literal('Immediately'), Type.Literal('MaintainTime')], { description: 'Immediately or MaintainTime' })),
});
export type ModifyClassBody = Static<typeof ModifyClassBody>;

export const ResetPasswordBody = Type.Object({ password: Type.Optional(password) });
export type ResetPasswordBody = Static<typeof ResetPasswordBody>;

// The shape only: each entry's rule (and the error naming ipWhiteList[i]) is domain/instances/ip-white-list.ts.
export const ModifyIpWhiteListBody = Type.Object({
  ipWhiteList: Type.Array(Type.String({ maxLength: 64, description: 'an IPv4 CIDR x.x.x.x/n, at most 64 characters' }), {
    maxItems: MAX_IP_WHITE_LIST,
    description: `an array of 1 to ${MAX_IP_WHITE_LIST} IPv4 CIDRs (x.x.x.x/n); 0.0.0.0/0 admits anyone`,
  }),
});
export type ModifyIpWhiteListBody = Static<typeof ModifyIpWhiteListBody>;

export const ListQuery = Type.Object(
  {
    // Bounded: a page number the store cannot take as an integer (1e400) was a 500 (list-query.ts checks again).
    pageNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'an integer from 1 to 2147483647' })),
    pageSize: Type.Optional(Type.Integer({ minimum: 10, maximum: 100, description: 'an integer from 10 to 100' })),
  },
  { additionalProperties: true },
);
export type ListQuery = Static<typeof ListQuery> & Record<string, unknown>;

export const InstanceClassQuery = Type.Object({
  redisVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 8, description: 'an engine version such as 2.8 or 4.0' })),
});

/*
 * Response schemas: they document the answers in /openapi.json and let Fastify serialize with
 * fast-json-stringify instead of JSON.stringify (describe and list are the hot paths). Every field
 * of domain/instances/instance-mapper.ts#CacheInstanceView must be listed, or it would be dropped;
 * test/api/sdk-operations.test.ts checks the fields the SDK sees.
 */
const Tag = Type.Object({ key: Type.String(), value: Type.String() });
export const CacheInstance = Type.Object({
  cacheInstanceId: Type.String(),
  cacheInstanceName: Type.String(),
  cacheInstanceClass: Type.String(),
  cacheInstanceMemoryMB: Type.Integer(),
  cacheInstanceStatus: Type.String(),
  cacheInstanceDescription: Type.String(),
  createTime: Type.String(),
  softDeletedTime: Type.String(),
  retainExpireTime: Type.String(),
  azId: Type.Object({
    azSpecifyType: Type.String(),
    azsForCluster: Type.Array(Type.String()),
    master: Type.String(),
    slave: Type.String(),
    azsForProxy: Type.Array(Type.String()),
  }),
  vpcId: Type.String(),
  subnetId: Type.String(),
  connectionDomain: Type.String(),
  port: Type.Integer(),
  charge: Type.Object({
    chargeMode: Type.String(),
    chargeStatus: Type.String(),
    chargeStartTime: Type.String(),
    chargeExpiredTime: Type.Optional(Type.String()),
  }),
  instanceVersion: Type.String(),
  instanceProxyVersion: Type.String(),
  auth: Type.Boolean(),
  redisVersion: Type.String(),
  cacheInstanceType: Type.String(),
  ipv6On: Type.Integer(),
  tags: Type.Union([Type.Array(Tag), Type.Null()]),
  shardNumber: Type.Integer(),
  memoryMBPerShard: Type.Integer(),
  extension: Type.Object({ statusReason: Type.Optional(Type.String()) }),
  resourceGroupId: Type.String(),
  otherDomains: Type.Array(Type.Object({ domainName: Type.String() })),
  slaveAppendonly: Type.String(),
  databaseNum: Type.String(),
  maxmemoryPolicy: Type.String(),
  replicaNumber: Type.Integer(),
  enableSmartProxy: Type.Integer(),
  cpuArchType: Type.String(),
  isAllowNoAuth: Type.Boolean(),
  maintenanceStartTime: Type.String(),
  maintenanceEndTime: Type.String(),
  toBeExecutedTaskType: Type.Array(Type.Integer()),
  supportAssociateEIP: Type.Boolean(),
  platform: Type.String(),
});

/** The SDK's InstanceClass model (Go SDK `redis/models/InstanceClass.go`), nothing more. */
export const InstanceClass = Type.Object({
  instanceClass: Type.String(),
  instanceType: Type.String(),
  cpu: Type.Integer(),
  memoryMB: Type.Integer(),
  diskGB: Type.Integer(),
  maxConnection: Type.Integer(),
  bandwidthMbps: Type.Integer(),
});

export const envelope = <T extends TSchema>(result: T) => ({ 200: Type.Object({ requestId: Type.String(), result }) });
export const bare = { 200: Type.Object({ requestId: Type.String() }) };
const order = Type.Object({ orderNum: Type.String(), buyId: Type.String() });

export const Responses = {
  create: envelope(Type.Object({ cacheInstanceId: Type.String(), orderNum: Type.String(), buyId: Type.String() })),
  describe: envelope(Type.Object({ cacheInstance: CacheInstance })),
  list: envelope(Type.Object({ cacheInstances: Type.Array(CacheInstance), totalCount: Type.Integer() })),
  modifyClass: envelope(order),
  instanceClasses: envelope(Type.Object({ instanceClasses: Type.Array(InstanceClass), totalCount: Type.Integer() })),
  ipWhiteList: envelope(Type.Object({ ipWhiteList: Type.Array(Type.String()) })),
  noResult: bare,
};
