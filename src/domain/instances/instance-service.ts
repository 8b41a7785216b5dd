import { createHash } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { DriverCapabilities, InstanceSpec } from '../../drivers/driver.ts';
import type { Logger } from '../../logger.ts';
import type { Transaction } from 'kysely';
import type { Db } from '../../store/open-store.ts';
import type { Database } from '../../store/schema.ts';
import {
  countInstances,
  findInstance,
  findInstanceForView,
  getInstanceById,
  insertInstance,
  listInstances,
  setIpWhiteList,
  tagsOf,
  updateInstance,
  type InstanceListQuery,
} from '../../store/instances-repo.ts';
import { footprintRows } from '../../store/capacity-repo.ts';
import { lockCapacity } from '../../store/store-locks.ts';
import { insertTask } from '../../store/tasks-repo.ts';
import { classShape, type ClassCatalogue, type InstanceClass } from '../catalogue/instance-class-catalogue.ts';
import { DomainError } from '../domain-error.ts';
import { checkAccountQuotas, type QuotaAmounts } from '../capacity/account-quotas.ts';
import { capacityUsage } from '../capacity/capacity-usage.ts';
import { checkHostMemory } from '../capacity/host-admission.ts';
import { instanceFootprint, type InstanceFootprint, type NodePromise } from '../capacity/instance-footprint.ts';
import { newBuyId, newInstanceId, newOrderNum } from '../ids.ts';
import { assertZone, regionName } from '../regions.ts';
import { availableResources, availableZones, type AvailableResourceView, type AzInfoView } from '../catalogue/available-resources.ts';
import { specConfig, type SpecConfigView } from '../catalogue/spec-config.ts';
import { addChargePeriod, formatJdTime } from '../time-format.ts';
import type { ChargeInput, CreateInstanceInput, ModifyClassInput, RequestScope } from './instance-inputs.ts';
import { toCacheInstanceView, type CacheInstanceView, type InstanceRow } from './instance-mapper.ts';
import { toInstanceSpec } from './instance-spec.ts';
import type { PasswordSeal } from './password-seal.ts';
import { transitionStatus, type InstanceStatus } from './instance-status.ts';
import { DEFAULT_IP_WHITE_LIST, isDefaultIpWhiteList, normalizeIpWhiteList, storedIpWhiteList } from './ip-white-list.ts';
import { PASSWORD_RULE, passwordProblem } from './password-rule.ts';
import { refuseUnsupportedCreateFields, refuseUnsupportedResizeFields } from './unsupported-fields.ts';

export interface InstanceServiceDeps {
  db: Db;
  catalogue: ClassCatalogue;
  config: Pick<
    Config,
    'instancePorts' | 'quota' | 'quotaNodes' | 'quotaMemoryMb' | 'hostMemoryMb' | 'memoryReserveMb' | 'memoryOvercommit' | 'advertisedHost'
  >;
  /**
   * Reserves what the driver's nodes need on the host for `spec` (the local driver: ports), inside the
   * create or resize transaction, so a refusal is an answer now and never a half-made instance. Returns
   * the endpoint port when it is known already (describe shows it from the start). Throws an error named
   * `NoFreePortsError` when the host cannot (QUOTA_EXCEEDED; with a requested port, taken).
   */
  reserveNodes: (trx: Transaction<Database>, spec: InstanceSpec) => Promise<{ endpointPort: number | null }>;
  /** Memory the instance used when last observed (bytes), if known: a resize to less is refused at once. */
  usedMemory: (instanceId: string) => number | undefined;
  /** Promised memory of one node of a given maxmemory (the driver's allowances included): what admission control counts. */
  nodePromise: NodePromise;
  logger: Logger;
  /** Seals the tenant's password for proxies (password-seal.ts); the store never holds it in clear. */
  passwordSeal: PasswordSeal;
  /** Wakes the engine after a task was committed. */
  notifyEngine: () => void;
  now: () => Date;
  /** Version of the redis-server that runs instances, e.g. `7.0`. */
  engineVersion: string;
  /** Whether the driver enforces IP white lists on this host (its capabilities, known after init). */
  ipWhiteListEnforcement: () => DriverCapabilities['ipWhiteList'];
  /**
   * A create with `backupId` (domain/backups/backup-service.ts): checks the backup against the new
   * instance and writes the task that builds it with the backup's data, in the create's transaction.
   * Without it such a create is refused.
   */
  createFromBackup?: (trx: Transaction<Database>, scope: RequestScope, instance: NewFromBackup) => Promise<void>;
}

/** What createFromBackup is given: the new instance, and the backup asked for. */
export interface NewFromBackup {
  instanceId: string;
  backupId: string;
  srcInstanceId: string | undefined;
  instanceType: string;
  shards: number;
  memoryMbPerShard: number;
}

export type TaskKind = 'create' | 'resize' | 'password' | 'delete' | 'ipWhiteList';

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
const cpuArchInfo = { cpuType: cpuArchType, cpuName: cpuArchType === 'arm64' ? 'ARM' : 'X86' };

/**
 * JD's rule for prepaid instances (reference §4.8): cluster → master-slave needs strictly more memory,
 * master-slave → cluster at least as much. Postpaid instances change type freely.
 */
function assertPrepaidTypeChange(row: InstanceRow, newType: string, newMemoryMb: number, newClass: string): void {
  if (row.charge_mode !== 'prepaid_by_duration' || newType === row.instance_type) return;
  const oldMemoryMb = row.memory_mb_per_shard * row.shard_number;
  const toMasterSlave = newType === 'master-slave';
  if (toMasterSlave ? newMemoryMb > oldMemoryMb : newMemoryMb >= oldMemoryMb) return;
  throw new DomainError(
    'FAILED_PRECONDITION',
    `cacheInstanceClass: a prepaid instance changing from ${row.instance_type} to ${newType} needs ${toMasterSlave ? 'more memory than' : 'at least as much memory as'} its ${oldMemoryMb} MB; ${newClass} offers ${newMemoryMb} MB`,
  );
}

/**
 * A proxy cluster's proxy compares the password in clear (`redis_auth`): the service keeps every password
 * sealed for that (password-seal.ts), but an instance whose password was set before sealing has only its
 * hash, which no proxy can check. Said at once, naming the way through, instead of a task that fails later.
 */
function refuseProxyWithoutKeptPassword(row: InstanceRow, cls: InstanceClass): void {
  if (cls.instanceType !== 'cluster' || row.instance_type === 'cluster' || row.password_sha256 === null || row.proxy_password) return;
  throw new DomainError(
    'FAILED_PRECONDITION',
    `cacheInstanceClass: a proxy cluster's proxy checks the password itself, and the password of ${row.id} was set before this service kept passwords for proxies; reset it once (resetCacheInstancePassword, the same password will do), then change the class`,
  );
}

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

  /**
   * Account quotas and host admission for `asked` more instances, nodes and promised bytes, inside the
   * transaction that then writes the change, under the store's capacity lock: two creates (in one
   * process or several on PostgreSQL) cannot both be admitted into the same free memory or quota.
   */
  async function admit(trx: Transaction<Database>, scope: RequestScope, asked: QuotaAmounts, what: string, shape: InstanceFootprint): Promise<void> {
    await lockCapacity(trx);
    const groups = (await footprintRows(trx)).map((r) => ({
      account: r.account,
      region: r.region,
      memoryMbPerShard: r.memory_mb_per_shard,
      shards: r.shards,
      instances: r.instances,
    }));
    const usage = capacityUsage(groups, scope.account, scope.region, deps.nodePromise);
    checkAccountQuotas({ instances: config.quota, nodes: config.quotaNodes, memoryMb: config.quotaMemoryMb }, usage.account, asked, scope.region);
    checkHostMemory(config, usage.hostBytes, asked.bytes, what, shape);
  }

  /** deps.reserveNodes, with the host's refusal as the JD error (a taken requested port names its field). */
  async function reserveNodesOrRefuse(trx: Transaction<Database>, spec: InstanceSpec, portField: string | null, atCreate: boolean): Promise<void> {
    try {
      const { endpointPort } = await deps.reserveNodes(trx, spec);
      // At create nobody knows the instance yet: its endpoint is what was reserved. A resize keeps
      // showing the endpoint that serves until the engine reports the new one (a type change moves it).
      if (atCreate && endpointPort !== null) await updateInstance(trx, spec.id, { endpoint_port: endpointPort });
    } catch (err) {
      if (!(err instanceof Error) || err.name !== 'NoFreePortsError') throw err;
      if (portField !== null && spec.requestedPort !== undefined && err.message.includes(`port ${spec.requestedPort} `)) {
        throw new DomainError('ALREADY_EXISTS', `${portField}: ${err.message}`);
      }
      throw new DomainError('QUOTA_EXCEEDED', `${err.message}; delete an instance or widen JCS_INSTANCE_PORTS`);
    }
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
      refuseUnsupportedCreateFields(input, charge);
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
      const fromBackup = deps.createFromBackup;
      if (input.srcInstanceId !== undefined && input.backupId === undefined) {
        throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.backupId: required with srcInstanceId (both name the backup to create from)');
      }
      if (input.backupId !== undefined && !fromBackup) {
        throw new DomainError('INVALID_ARGUMENT', 'cacheInstance.backupId: creating from a backup is not supported');
      }
      if (input.port !== undefined && (input.port < config.instancePorts.from || input.port > config.instancePorts.to)) {
        throw new DomainError(
          'INVALID_ARGUMENT',
          `cacheInstance.port: must be within ${config.instancePorts.from}-${config.instancePorts.to}, got ${input.port}`,
        );
      }
      const shape = classShape(cls, shards);
      const footprint = instanceFootprint(shape.shards, shape.memoryMbPerShard, deps.nodePromise);
      const now = deps.now();
      const chargeRow = chargeFields(charge, now);
      const id = newInstanceId();
      const orderNum = newOrderNum();
      const buyId = newBuyId();
      const tags = (input.userTags ?? []).map((t) => ({ key: t.key ?? '', value: t.value ?? '' }));

      await db.transaction().execute(async (trx) => {
        await admit(
          trx,
          scope,
          { instances: 1, nodes: footprint.nodes, bytes: footprint.bytes },
          `creating a ${cls.instanceClass} instance with ${shape.shards} shard${shape.shards === 1 ? '' : 's'}`,
          footprint,
        );
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
            // twemproxy compares the password in clear: kept sealed for every type, since a type change may
            // build proxies later (password-seal.ts, docs/security.md).
            proxy_password: input.password ? deps.passwordSeal.seal(id, input.password) : null,
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
            ip_white_list: JSON.stringify(DEFAULT_IP_WHITE_LIST),
            endpoint_port: null,
            requested_port: input.port ?? null,
            redis_config: '{}',
            disabled_commands: '[]',
            redis_accounts: '[]',
          },
          tags,
        );
        const row = (await getInstanceById(trx, id))!;
        await reserveNodesOrRefuse(trx, toInstanceSpec(row, deps.passwordSeal), input.port !== undefined ? 'cacheInstance.port' : null, true);
        if (input.backupId !== undefined && fromBackup) {
          // The backup's task builds the instance with its data: it is never `running` empty first.
          await fromBackup(trx, scope, { instanceId: id, backupId: input.backupId, srcInstanceId: input.srcInstanceId, instanceType: cls.instanceType, shards: shape.shards, memoryMbPerShard: shape.memoryMbPerShard });
        } else {
          await enqueue(trx, id, 'create', {});
        }
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
        now: deps.now(),
      });
    },

    async list(query: InstanceListQuery): Promise<{ cacheInstances: CacheInstanceView[]; totalCount: number }> {
      const { rows, total } = await listInstances(db, query);
      const ids = rows.map((r) => r.id);
      const tags = await tagsOf(db, ids);
      const views = rows.map((row) =>
        toCacheInstanceView(row, {
          advertisedHost: config.advertisedHost,
          port: row.endpoint_port ?? 0,
          tags: tags.get(row.id) ?? [],
          engineVersion: deps.engineVersion,
          cpuArchType,
          now: deps.now(),
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
      refuseUnsupportedResizeFields(input);
      const row = await mustFind(scope, id);
      requireStatus(row, ['running'], 'modify the class of');
      const cls = resolveClass(input.cacheInstanceClass, row.redis_version, 'cacheInstanceClass');
      // A type change (master-slave, native-cluster, proxy cluster) copies the data to the new topology's nodes;
      // the catalogue only offers types the driver can build.
      const retype = cls.instanceType !== row.instance_type;
      const defaultShards = cls.instanceType === 'master-slave' ? 1 : retype ? undefined : row.shard_number;
      const shards = resolveShards(cls, input.shardNumber ?? defaultShards, 'shardNumber');
      refuseProxyWithoutKeptPassword(row, cls);
      if (cls.instanceClass === row.instance_class && shards === row.shard_number) {
        throw new DomainError('INVALID_ARGUMENT', `cacheInstanceClass: cacheInstance ${id} already has class ${cls.instanceClass}`);
      }
      const shape = classShape(cls, shards);
      assertPrepaidTypeChange(row, cls.instanceType, shape.memoryMbPerShard * shards, cls.instanceClass);
      // From the last health check; the engine checks again, live, before it applies the class.
      const used = deps.usedMemory(id) ?? 0;
      const newBytes = shape.memoryMbPerShard * shards * 1024 * 1024;
      if (used > newBytes) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `cacheInstanceClass: ${cls.instanceClass} offers ${shape.memoryMbPerShard * shards} MB but cacheInstance ${id} uses ${Math.ceil(used / 1048576)} MB`,
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
      const before = instanceFootprint(row.shard_number, row.memory_mb_per_shard, deps.nodePromise);
      const after = instanceFootprint(shape.shards, shape.memoryMbPerShard, deps.nodePromise);
      await db.transaction().execute(async (trx) => {
        // Only the difference counts. Checked first, so a refusal leaves no status change to roll back.
        await admit(
          trx,
          scope,
          { instances: 0, nodes: after.nodes - before.nodes, bytes: after.bytes - before.bytes },
          `resizing cacheInstance ${id} from ${row.instance_class} (${row.shard_number} shards) to ${cls.instanceClass} (${shape.shards} shards)`,
          after,
        );
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
        // New shards (or the other topology's nodes) get their host resources now; nodes that go away
        // keep theirs until the driver has stopped them.
        await reserveNodesOrRefuse(trx, toInstanceSpec((await getInstanceById(trx, id))!, deps.passwordSeal), null, false);
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
        await updateInstance(trx, id, {
          password_sha256: password ? sha256(password) : null,
          proxy_password: password ? deps.passwordSeal.seal(id, password) : null,
        });
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

    async describeIpWhiteList(scope: RequestScope, id: string): Promise<{ ipWhiteList: string[] }> {
      const row = await mustFind(scope, id);
      return { ipWhiteList: storedIpWhiteList(row.ip_white_list) };
    },

    /**
     * Stores the white list and a task that applies it, in one transaction; the status stays as it is
     * (the kernel rules change in milliseconds, nodes are not touched). Refused, with nothing stored,
     * when a list other than ["0.0.0.0/0"] cannot be enforced on this host.
     */
    async modifyIpWhiteList(scope: RequestScope, id: string, entries: unknown): Promise<void> {
      const row = await mustFind(scope, id);
      const list = normalizeIpWhiteList(entries);
      const enforcement = deps.ipWhiteListEnforcement();
      if (!isDefaultIpWhiteList(list) && !enforcement.enforced) {
        throw new DomainError(
          'FAILED_PRECONDITION',
          `ipWhiteList: this service cannot enforce IP white lists: ${enforcement.reason}; only ["0.0.0.0/0"] is accepted until the operator fixes that`,
        );
      }
      if (row.status === 'deleting') throw new DomainError('FAILED_PRECONDITION', `cannot modify the IP white list of cacheInstance ${id} while it is deleting`);
      await db.transaction().execute(async (trx) => {
        if (!(await setIpWhiteList(trx, id, JSON.stringify(list)))) {
          throw new DomainError('FAILED_PRECONDITION', `cannot modify the IP white list of cacheInstance ${id}: it is being deleted`);
        }
        await enqueue(trx, id, 'ipWhiteList', {});
      });
      logger.info({ instanceId: id, entries: list.length }, 'IP white list change accepted');
      deps.notifyEngine();
    },

    async quota(scope: RequestScope): Promise<{ quota: { name: string; max: number; used: number } }> {
      return { quota: { name: '缓存Redis', max: config.quota, used: await countInstances(db, scope.account, scope.region) } };
    },

    /** describeAvailableRegion: every configured region with its zones and the caller's instance quota there. */
    async availableRegions(account: string, regions: readonly string[]): Promise<{
      availableRegions: { regionId: string; regionName: string; soldOut: boolean; quota: { max: number; used: number }; availableZones: AzInfoView[] }[];
    }> {
      const used = await Promise.all(regions.map((region) => countInstances(db, account, region)));
      return {
        availableRegions: regions.map((regionId, i) => ({
          regionId,
          regionName: regionName(regionId),
          soldOut: false,
          quota: { max: config.quota, used: used[i]! },
          availableZones: availableZones(regionId),
        })),
      };
    },

    availableResources(region: string): { availableResources: AvailableResourceView[] } {
      return { availableResources: availableResources(catalogue, region, cpuArchInfo) };
    },

    specConfig(region: string): SpecConfigView {
      return specConfig(catalogue, region);
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
      }));
      return { instanceClasses, totalCount: instanceClasses.length };
    },
  };
}
