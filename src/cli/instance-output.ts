import type { CacheInstance, DescribeCacheInstancesResult, InstanceClass, InstanceEvent, Quota } from '../client/api-types.ts';
import { eventDetail } from '../client/event-detail.ts';
import { formatDetails, formatTable } from './format-table.ts';

function memory(mb: number | undefined): string {
  if (mb === undefined) return '';
  return mb >= 1024 && mb % 1024 === 0 ? `${mb / 1024} GB` : `${mb} MB`;
}

/** `host:port`, what redis-cli -h/-p (or a client URL) needs. */
export function endpointOf(instance: CacheInstance): string {
  return instance.connectionDomain ? `${instance.connectionDomain}:${instance.port}` : '';
}

/** The detail view of `show` and of `create/resize/reset-password --wait`. */
export function formatInstance(instance: CacheInstance): string {
  const shards = instance.shardNumber && instance.shardNumber > 1 ? `, ${instance.shardNumber} shards` : '';
  return formatDetails([
    ['ID', instance.cacheInstanceId],
    ['Name', instance.cacheInstanceName],
    ['Status', instance.cacheInstanceStatus],
    // Why it is in error (or what it is doing), as the engine recorded it: --json has it as extension.statusReason.
    ['Reason', statusReason(instance)],
    ['Class', `${instance.cacheInstanceClass} (${memory(instance.cacheInstanceMemoryMB)}${shards})`],
    ['Type', instance.cacheInstanceType],
    ['Redis version', redisVersions(instance)],
    ['Endpoint', endpointOf(instance)],
    ['Password', instance.auth === undefined ? undefined : instance.auth ? 'required' : 'none (password-free)'],
    ['Zones', instance.azId ? `${instance.azId.master} (primary), ${instance.azId.slave} (replica)` : undefined],
    ['Created', instance.createTime],
    ['Description', instance.cacheInstanceDescription],
  ]);
}

/** The status reason worth showing: always in error, otherwise only while something is in progress. */
function statusReason(instance: CacheInstance): string | undefined {
  const extension = instance.extension as { statusReason?: unknown } | undefined;
  const reason = typeof extension?.statusReason === 'string' ? extension.statusReason : '';
  if (!reason || instance.cacheInstanceStatus === 'running') return undefined;
  return reason;
}

/**
 * The version the API speaks of (the class's, JD's `redisVersion`) and the engine that runs it (the
 * `instanceVersion` suffix, `4.0-7.0`): "4.0" alone read as if Redis 4.0 ran.
 */
function redisVersions(instance: CacheInstance): string | undefined {
  const engine = instance.instanceVersion?.split('-')[1];
  if (!instance.redisVersion) return undefined;
  return engine && engine !== instance.redisVersion ? `${instance.redisVersion} (API version; the engine is Redis ${engine})` : instance.redisVersion;
}

/** `jcs-redis events`: one line per event, oldest first. */
export function formatEvents(events: InstanceEvent[]): string {
  if (events.length === 0) return 'no events\n';
  return formatTable(
    ['TIME', 'EVENT', 'DETAIL'],
    events.map((e) => [e.time, e.type, eventDetail(e)]),
  );
}

export function formatInstanceList(result: DescribeCacheInstancesResult): string {
  if (result.cacheInstances.length === 0) {
    return result.totalCount > 0 ? `no instances on this page (${result.totalCount} in total)\n` : 'no instances\n';
  }
  const table = formatTable(
    ['ID', 'NAME', 'STATUS', 'CLASS', 'MEMORY', 'ENDPOINT', 'CREATED'],
    result.cacheInstances.map((i) => [
      i.cacheInstanceId,
      i.cacheInstanceName,
      i.cacheInstanceStatus,
      i.cacheInstanceClass,
      memory(i.cacheInstanceMemoryMB),
      endpointOf(i),
      i.createTime,
    ]),
  );
  const more =
    result.totalCount > result.cacheInstances.length
      ? `(${result.cacheInstances.length} of ${result.totalCount}; see --page and --page-size)\n`
      : '';
  return table + more;
}

export function formatClasses(classes: InstanceClass[]): string {
  return formatTable(
    ['CLASS', 'TYPE', 'MEMORY', 'CPU', 'MAX CONNECTIONS', 'BANDWIDTH'],
    classes.map((c) => [
      c.instanceClass,
      c.instanceType ?? '',
      memory(c.memoryMB),
      c.cpu === undefined ? '' : String(c.cpu),
      c.maxConnection === undefined ? '' : String(c.maxConnection),
      c.bandwidthMbps === undefined ? '' : `${c.bandwidthMbps} MB/s`,
    ]),
  );
}

export function formatQuota(quota: Quota): string {
  return formatDetails([
    ['Quota', quota.name],
    ['Used', String(quota.used)],
    ['Max', String(quota.max)],
    ['Available', String(Math.max(0, quota.max - quota.used))],
  ]);
}
