import { createHash } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Driver } from '../../drivers/driver.ts';
import type { Logger } from '../../logger.ts';
import type { Transaction } from 'kysely';
import type { Db } from '../../store/open-store.ts';
import type { Database } from '../../store/schema.ts';
import {
  countInstances,
  findInstance,
  findInstanceForView,
  insertInstance,
  listInstances,
  tagsOf,
  updateInstance,
  type InstanceListQuery,
} from '../../store/instances-repo.ts';
import { portsOf, reservePorts } from '../../store/ports-repo.ts';
import { insertTask } from '../../store/tasks-repo.ts';
import { classShape, type ClassCatalogue, type InstanceClass } from '../catalogue/instance-class-catalogue.ts';
import { DomainError } from '../domain-error.ts';
import { newBuyId, newInstanceId, newOrderNum } from '../ids.ts';
import { assertZone } from '../regions.ts';
import { addChargePeriod, formatJdTime } from '../time-format.ts';
import type { ChargeInput, CreateInstanceInput, ModifyClassInput, RequestScope } from './instance-inputs.ts';
import { toCacheInstanceView, type CacheInstanceView, type InstanceRow } from './instance-mapper.ts';
import { portRoles, toInstanceSpec } from './instance-spec.ts';
import { reshapePorts } from '../../engine/reshard-ports.ts';
import { transitionStatus, type InstanceStatus } from './instance-status.ts';
import { PASSWORD_RULE, passwordProblem } from './password-rule.ts';

export interface InstanceServiceDeps {
  db: Db;
  catalogue: ClassCatalogue;
  config: Pick<Config, 'instancePorts' | 'quota' | 'advertisedHost'>;
  logger: Logger;
  /** Observes live instances (used memory before a resize). */
  driver: Driver;
  /** Wakes the engine after a task was committed. */
  notifyEngine: () => void;
  now: () => Date;
  /** Version of the redis-server that runs instances, e.g. `7.0`. */
  engineVersion: string;
}

export type TaskKind = 'create' | 'resize' | 'password' | 'delete';

/** Payload of a resize task: what to restore if the new class cannot be applied. */
export interface ResizePayload {
  previous: { instance_class: string; shard_number: number; memory_mb_per_shard: number; max_connections: number; instance_type?: string };
}

const DEFAULT_POLICY = 'volatile-lru';

/** Refuses a password that breaks JD's rule (the API schema applies it too; this guards every other caller). */
function assertPassword(field: string, password: string | undefined): void {
  const problem = password ? passwordProblem(password) : undefined;
  if (problem) throw new DomainError('INVALID_ARGUMENT', `${field}: must be ${PASSWORD_RULE} (${problem})`);
}
const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const cpuArchType = process.arch === 'arm64' ? 'arm64' : 'amd64';

export type InstanceService = ReturnType<typeof createInstanceService>;

export function createInstanceService(deps: InstanceServiceDeps) {
  const { db, catalogue, config, logger } = deps;

  async function mustFind(scope: RequestScope, id: string): Promise<InstanceRow> {
    const row = await findInstance(db, scope.account, scope.region, id);
    if (!row) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
    return row;
  }

  function resolveClass(code: string, redisVersion: string, field: string): InstanceClass {
    const cls = catalogue.find(code);
    if (!cls) throw new DomainError('INVALID_ARGUMENT', `${field}: unknown instance class "${code}"`);
    if (!catalogue.isOffered(cls)) {
      throw new DomainError(
        'INVALID_ARGUMENT',
        `${field}: instance class "${code}" (${cls.instanceType}) is not offered by this service yet`,
      );
    }
    if (!cls.redisVersions.includes(redisVersion)) {
      throw new DomainError(
        'INVALID_ARGUMENT',
        `${field}: instance class "${code}" is not available for redisVersion ${redisVersion} (available: ${cls.redisVersions.join(', ')})`,
      );
    }
    return cls;
  }

  function resolveShards(cls: InstanceClass, shardNumber: number | undefined, field: string): number {
    if (cls.instanceType === 'master-slave') {
      if (shardNumber !== undefined && shardNumber !== 1) {
        throw new DomainError('INVALID_ARGUMENT', `${field}: must be 1 (or absent) for master-slave class ${cls.instanceClass}`);
      }
      return 1;
    }
    const n = shardNumber ?? cls.shardNumberList[0]!;
    if (!cls.shardNumberList.includes(n)) {
      throw new DomainError(
        'INVALID_ARGUMENT',
        `${field}: ${n} shards is not offered for ${cls.instanceClass}; allowed: ${cls.shardNumberList.join(', ')}`,
      );
    }
    return n;
  }

  function chargeFields(input: ChargeInput | undefined, now: Date) {
    const mode = input?.chargeMode ?? 'postpaid_by_duration';
    const start = formatJdTime(now);
    if (mode !== 'prepaid_by_duration') {
      return { charge_mode: mode, charge_unit: null, charge_duration: null, auto_renew: 0, charge_start_time: start, charge_expired_time: null };
    }
    const unit = (input?.chargeUnit ?? 'month') as 'month' | 'year';
    const duration = input?.chargeDuration;
    if (duration === undefined) {
      throw new DomainError('INVALID_ARGUMENT', 'charge.chargeDuration: required when chargeMode is prepaid_by_duration');
    }
    const max = unit === 'year' ? 3 : 9;
    if (duration < 1 || duration > max) {
      throw new DomainError('INVALID_ARGUMENT', `charge.chargeDuration: must be 1 to ${max} when chargeUnit is ${unit}, got ${duration}`);
    }
    return {
      charge_mode: mode,
      charge_unit: unit,
      charge_duration: duration,
      auto_renew: input?.autoRenew ? 1 : 0,
      charge_start_time: start,
      charge_expired_time: formatJdTime(addChargePeriod(now, unit, duration)),
    };
  }

  async function enqueue(
    trx: Transaction<Database>,
    instanceId: string,
    kind: TaskKind,
    payload: unknown,
  ): Promise<void> {
    await insertTask(trx, { instanceId, kind, payload, nowMs: deps.now().getTime() });
  }

  function requireStatus(row: InstanceRow, allowed: InstanceStatus[], action: string): void {
    if (!allowed.includes(row.status as InstanceStatus)) {
      throw new DomainError(
        'FAILED_PRECONDITION',
        `cannot ${action} cacheInstance ${row.id} while it is ${row.status}; allowed when ${allowed.join(' or ')}`,
      );
    }
  }

  return {
    async create(
      scope: RequestScope,
      input: CreateInstanceInput,
      charge: ChargeInput | undefined,
    ): Promise<{ cacheInstanceId: string; orderNum: string; buyId: string }> {
      assertPassword('cacheInstance.password', input.password);
      const redisVersion = input.redisVersion ?? '2.8';
      if (!catalogue.versions().includes(redisVersion)) {
        throw new DomainError(
          'INVALID_ARGUMENT',
          `cacheInstance.redisVersion: unsupported version "${redisVersion}"; supported: ${catalogue.versions().join(', ')}`,
        );
      }
      const cls = resolveClass(input.cacheInstanceClass, redisVersion, 'cacheInstance.cacheInstanceClass');
      if (input.cacheInstanceType !== undefined && input.cacheInstanceType !== cls.instanceType) {
        throw new DomainError(
          'INVALID_ARGUMENT',
          `cacheInstance.cacheInstanceType: "${input.cacheInstanceType}" does not match class ${cls.instanceClass} (${cls.instanceType})`,
        );
      }
      const shards = resolveShards(cls, input.shardNumber, 'cacheInstance.shardNumber');
      assertZone(scope.region, 'cacheInstance.azId.master', input.azId.master);
      assertZone(scope.region, 'cacheInstance.azId.slave', input.azId.slave);
      if (input.replicaNumber !== undefined && input.replicaNumber !== 2) {
        throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.replicaNumber: only 2 (one primary and one replica) is supported');
      }
      if (input.enableSmartProxy === 1) {
        throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.enableSmartProxy: smart proxy is not supported; use 0');
      }
      if (input.cpuArchType !== undefined && input.cpuArchType !== cpuArchType) {
        throw new DomainError('INVALID_ARGUMENT', `cacheInstance.cpuArchType: this host provides ${cpuArchType} only`);
      }
      if (input.backupId !== undefined || input.srcInstanceId !== undefined) {
        throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.backupId: creating from a backup is not supported');
      }
      if (input.port !== undefined && (input.port < config.instancePorts.from || input.port > config.instancePorts.to)) {
        throw new DomainError(
          'INVALID_ARGUMENT',
          `cacheInstance.port: must be within ${config.instancePorts.from}-${config.instancePorts.to}, got ${input.port}`,
        );
      }
      const shape = classShape(cls, shards);
      const now = deps.now();
      const chargeRow = chargeFields(charge, now);
      const id = newInstanceId();
      const orderNum = newOrderNum();
      const buyId = newBuyId();
      const tags = (input.userTags ?? []).map((t) => ({ key: t.key ?? '', value: t.value ?? '' }));

      await db.transaction().execute(async (trx) => {
        const used = await countInstances(trx, scope.account, scope.region);
        if (used >= config.quota) {
          throw new DomainError(
            'QUOTA_EXCEEDED',
            `quota exceeded: ${used} of ${config.quota} instances in ${scope.region} are in use; delete one or ask the operator to raise JCS_QUOTA`,
          );
        }
        await insertInstance(
          trx,
          {
            id,
            account: scope.account,
            region: scope.region,
            name: input.cacheInstanceName,
            description: input.cacheInstanceDescription ?? '',
            instance_class: cls.instanceClass,
            instance_type: cls.instanceType,
            redis_version: redisVersion,
            shard_number: shape.shards,
            memory_mb_per_shard: shape.memoryMbPerShard,
            max_connections: shape.maxClients,
            status: 'creating',
            status_reason: 'created',
            password_sha256: input.password ? sha256(input.password) : null,
            az_master: input.azId.master,
            az_slave: input.azId.slave,
            vpc_id: input.vpcId,
            subnet_id: input.subnetId,
            ipv6_on: input.ipv6On ?? 0,
            db_num: input.dbNum ?? 16,
            maxmemory_policy: input.maxmemoryPolicy ?? DEFAULT_POLICY,
            ...chargeRow,
            resource_group_id: input.resourceGroupId ?? '',
            order_num: orderNum,
            buy_id: buyId,
            create_time: formatJdTime(now),
            created_ms: now.getTime(),
          },
          tags,
        );
        const roles = portRoles(shape.shards);
        if (input.port !== undefined) {
          const taken = await trx.selectFrom('ports').select('port').where('port', '=', input.port).executeTakeFirst();
          if (taken) throw new DomainError('ALREADY_EXISTS', `cacheInstance.port: port ${input.port} is already in use`);
          await trx.insertInto('ports').values({ port: input.port, instance_id: id, role: roles[0]! }).execute();
        }
        const rest = input.port !== undefined ? roles.slice(1) : roles;
        const reserved = await reservePorts(trx, id, rest, config.instancePorts);
        if (!reserved) {
          throw new DomainError(
            'QUOTA_EXCEEDED',
            `no free instance ports left in ${config.instancePorts.from}-${config.instancePorts.to}; delete an instance or widen JCS_INSTANCE_PORTS`,
          );
        }
        await enqueue(trx, id, 'create', {});
      });
      logger.info({ instanceId: id, account: scope.account, region: scope.region, class: cls.instanceClass }, 'instance create accepted');
      deps.notifyEngine();
      return { cacheInstanceId: id, orderNum, buyId };
    },

    async describe(scope: RequestScope, id: string): Promise<CacheInstanceView> {
      const found = await findInstanceForView(db, scope.account, scope.region, id);
      if (!found) throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
      return toCacheInstanceView(found.row, {
        advertisedHost: config.advertisedHost,
        port: found.port,
        tags: found.tags,
        engineVersion: deps.engineVersion,
        cpuArchType,
      });
    },

    async list(query: InstanceListQuery): Promise<{ cacheInstances: CacheInstanceView[]; totalCount: number }> {
      const { rows, total } = await listInstances(db, query);
      const ids = rows.map((r) => r.id);
      const tags = await tagsOf(db, ids);
      const views = rows.map(({ published_port, ...row }) =>
        toCacheInstanceView(row, {
          advertisedHost: config.advertisedHost,
          port: published_port ?? 0,
          tags: tags.get(row.id) ?? [],
          engineVersion: deps.engineVersion,
          cpuArchType,
        }),
      );
      return { cacheInstances: views, totalCount: total };
    },

    async modifyAttribute(scope: RequestScope, id: string, input: { cacheInstanceName?: string; cacheInstanceDescription?: string }): Promise<void> {
      const row = await mustFind(scope, id);
      if (row.status === 'deleting') {
        throw new DomainError('FAILED_PRECONDITION', `cannot modify cacheInstance ${id} while it is deleting`);
      }
      const patch: { name?: string; description?: string } = {};
      if (input.cacheInstanceName !== undefined) patch.name = input.cacheInstanceName;
      if (input.cacheInstanceDescription !== undefined) patch.description = input.cacheInstanceDescription;
      await updateInstance(db, id, patch);
    },

    async modifyClass(scope: RequestScope, id: string, input: ModifyClassInput): Promise<{ orderNum: string; buyId: string }> {
      const row = await mustFind(scope, id);
      requireStatus(row, ['running'], 'modify the class of');
      const cls = resolveClass(input.cacheInstanceClass, row.redis_version, 'cacheInstanceClass');
      // A type change (master-slave <-> native-cluster) copies the data to the new topology's nodes;
      // the catalogue only offers types the driver can build.
      const retype = cls.instanceType !== row.instance_type;
      const defaultShards = cls.instanceType === 'master-slave' ? 1 : retype ? undefined : row.shard_number;
      const shards = resolveShards(cls, input.shardNumber ?? defaultShards, 'shardNumber');
      if (cls.instanceClass === row.instance_class && shards === row.shard_number) {
        throw new DomainError('INVALID_ARGUMENT', `cacheInstanceClass: cacheInstance ${id} already has class ${cls.instanceClass}`);
      }
      const shape = classShape(cls, shards);
      const spec = toInstanceSpec(row, await portsOf(db, id));
      const obs = await deps.driver.observe(spec, AbortSignal.timeout(5_000));
      const newBytes = shape.memoryMbPerShard * shards * 1024 * 1024;
      if (obs.usedMemoryBytes > newBytes) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `cacheInstanceClass: ${cls.instanceClass} offers ${shape.memoryMbPerShard * shards} MB but cacheInstance ${id} uses ${Math.ceil(obs.usedMemoryBytes / 1048576)} MB`,
        );
      }
      const orderNum = newOrderNum();
      const buyId = newBuyId();
      const payload: ResizePayload = {
        previous: {
          instance_class: row.instance_class,
          shard_number: row.shard_number,
          memory_mb_per_shard: row.memory_mb_per_shard,
          max_connections: row.max_connections,
          instance_type: row.instance_type,
        },
      };
      await db.transaction().execute(async (trx) => {
        if (!(await transitionStatus(trx, logger, id, 'running', 'changing', `resize to ${cls.instanceClass}`))) {
          throw new DomainError('FAILED_PRECONDITION', `cannot modify the class of cacheInstance ${id}: its status just changed`);
        }
        await updateInstance(trx, id, {
          instance_class: cls.instanceClass,
          shard_number: shape.shards,
          memory_mb_per_shard: shape.memoryMbPerShard,
          max_connections: shape.maxClients,
          instance_type: cls.instanceType,
        });
        // Nodes that go away keep their ports (retired-*) until they have stopped; new shards get theirs now.
        if ((retype || shards !== row.shard_number) && !(await reshapePorts(trx, id, portRoles(shards), config.instancePorts, retype))) {
          throw new DomainError('QUOTA_EXCEEDED', `no free instance ports left for ${shards} shards of cacheInstance ${id}`);
        }
        await enqueue(trx, id, 'resize', payload);
      });
      deps.notifyEngine();
      return { orderNum, buyId };
    },

    async resetPassword(scope: RequestScope, id: string, password: string | undefined): Promise<void> {
      assertPassword('password', password);
      const row = await mustFind(scope, id);
      requireStatus(row, ['running'], 'reset the password of');
      await db.transaction().execute(async (trx) => {
        if (!(await transitionStatus(trx, logger, id, 'running', 'configuring', 'password reset'))) {
          throw new DomainError('FAILED_PRECONDITION', `cannot reset the password of cacheInstance ${id}: its status just changed`);
        }
        await updateInstance(trx, id, { password_sha256: password ? sha256(password) : null });
        await enqueue(trx, id, 'password', {});
      });
      deps.notifyEngine();
    },

    async delete(scope: RequestScope, id: string): Promise<void> {
      const row = await mustFind(scope, id);
      requireStatus(row, ['running', 'error'], 'delete');
      if (row.charge_mode === 'prepaid_by_duration' && row.charge_expired_time && new Date(row.charge_expired_time) > deps.now()) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `cannot delete prepaid cacheInstance ${id} before it expires at ${row.charge_expired_time}`,
        );
      }
      await db.transaction().execute(async (trx) => {
        if (!(await transitionStatus(trx, logger, id, row.status as InstanceStatus, 'deleting', 'delete requested'))) {
          throw new DomainError('FAILED_PRECONDITION', `cannot delete cacheInstance ${id}: its status just changed`);
        }
        await enqueue(trx, id, 'delete', {});
      });
      deps.notifyEngine();
    },

    async quota(scope: RequestScope): Promise<{ quota: { name: string; max: number; used: number } }> {
      return { quota: { name: '缓存Redis', max: config.quota, used: await countInstances(db, scope.account, scope.region) } };
    },

    instanceClasses(redisVersion: string) {
      if (!catalogue.versions().includes(redisVersion)) {
        throw new DomainError(
          'INVALID_ARGUMENT',
          `redisVersion: unsupported version "${redisVersion}"; supported: ${catalogue.versions().join(', ')}`,
        );
      }
      const instanceClasses = catalogue.offered(redisVersion).map((c) => ({
        instanceClass: c.instanceClass,
        instanceType: c.instanceType,
        cpu: c.cpu,
        memoryMB: c.memoryMB,
        diskGB: c.diskGB,
        maxConnection: c.maxConnection,
        bandwidthMbps: c.bandwidthMbps,
        ...(c.perShard ? { memoryMBPerShard: c.memoryMB, shardNumberList: c.shardNumberList } : {}),
      }));
      return { instanceClasses, totalCount: instanceClasses.length };
    },
  };
}
