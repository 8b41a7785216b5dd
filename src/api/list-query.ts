import { DomainError } from '../domain/domain-error.ts';
import type { InstanceListQuery } from '../domain/instances/instance-inputs.ts';

/**
 * Parses describeCacheInstances' flattened query keys (reference §3.1): `filters.N.name`,
 * `filters.N.values.M`, `filters.N.operator`, `sorts.N.name|direction`, `tagFilters.N.key|values.M`,
 * in any order and with gaps in the numbering (the JS SDK leaves gaps in tagFilters).
 */
const GROUP_KEY = /^(filters|sorts|tagFilters)\.(\d+)\.(name|values|operator|direction|key)(?:\.(\d+))?$/;
const RESOURCE_GROUP_KEY = /^resourceGroupIds\.(\d+)$/;

interface Group {
  name?: string;
  key?: string;
  operator?: string;
  direction?: string;
  values: [number, string][];
}

/** Filters JD documents for describeCacheInstances: the query field and store column each matches exactly. */
const FILTER_COLUMNS = {
  cacheInstanceId: ['ids', 'id'],
  cacheInstanceName: ['nameContains', 'name'],
  cacheInstanceStatus: ['statuses', 'status'],
  redisVersion: ['redisVersions', 'redis_version'],
  instanceType: ['instanceTypes', 'instance_type'],
  chargeMode: ['chargeModes', 'charge_mode'],
  vpcId: ['vpcIds', 'vpc_id'],
  subnetId: ['subnetIds', 'subnet_id'],
} as const;

/**
 * JD's filter operators (common docs: eq, the default, lt, le, gt, ge, ne, in, like), as far as each
 * documented filter can take them: exact filters take eq/in (any of the values) and ne (none of
 * them); the name, documented as a fuzzy match, takes eq/in/like (contains any) and ne (contains
 * none); redisVersion, an ordered value, also takes lt/le/gt/ge with one value.
 */
const EXACT_OPERATORS = ['eq', 'in', 'ne'];
const NAME_OPERATORS = ['eq', 'in', 'like', 'ne'];
const VERSION_OPERATORS = ['eq', 'in', 'ne', 'lt', 'le', 'gt', 'ge'];
const BOUNDS = { lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/** Resource group ids per query, like JD's other list limits. */
const MAX_RESOURCE_GROUP_IDS = 100;

/** The largest page number (2^31 - 1): offsets stay exact integers on every store. */
export const MAX_PAGE_NUMBER = 2_147_483_647;

const INSTANCE_TYPES: Record<string, string[]> = { redis: ['master-slave'], redis_cluster: ['cluster', 'native-cluster'] };

function first(value: unknown): string {
  return Array.isArray(value) ? String(value[value.length - 1]) : String(value);
}

function groups(query: Record<string, unknown>): Map<string, Map<number, Group>> {
  const out = new Map<string, Map<number, Group>>();
  for (const [k, raw] of Object.entries(query)) {
    const m = GROUP_KEY.exec(k);
    if (!m) continue;
    const [, kind, idx, field, sub] = m as unknown as [string, string, string, keyof Group, string | undefined];
    const byIndex = out.get(kind) ?? new Map<number, Group>();
    out.set(kind, byIndex);
    const g = byIndex.get(Number(idx)) ?? { values: [] };
    byIndex.set(Number(idx), g);
    if (field === 'values') {
      g.values.push([Number(sub ?? 0), first(raw)]);
    } else {
      (g as unknown as Record<string, string>)[field] = first(raw);
    }
  }
  return out;
}

const ordered = (m: Map<number, Group> | undefined): [number, Group][] => [...(m ?? new Map<number, Group>()).entries()].sort((a, b) => a[0] - b[0]);

export function parseListQuery(
  query: Record<string, unknown>,
  scope: { account: string; region: string },
): InstanceListQuery {
  const pageNumber = query.pageNumber === undefined ? 1 : Number(query.pageNumber);
  const pageSize = query.pageSize === undefined ? 10 : Number(query.pageSize);
  // The schema bounds both, but Ajv lets "1e400" through as Infinity (which the store then refused
  // with a 500): checked again here, where the numbers are used.
  if (!Number.isSafeInteger(pageNumber) || pageNumber < 1 || pageNumber > MAX_PAGE_NUMBER) {
    throw new DomainError('INVALID_ARGUMENT', `pageNumber: must be an integer from 1 to ${MAX_PAGE_NUMBER}`);
  }
  if (!Number.isSafeInteger(pageSize) || pageSize < 10 || pageSize > 100) {
    throw new DomainError('INVALID_ARGUMENT', 'pageSize: must be an integer from 10 to 100');
  }
  const parsed = groups(query);
  const out: InstanceListQuery = {
    ...scope,
    sortDirection: 'desc',
    offset: (pageNumber - 1) * pageSize,
    limit: pageSize,
    tagFilters: [],
  };
  for (const [n, g] of ordered(parsed.get('filters'))) applyFilter(out, `filters.${n}`, g);
  for (const [n, g] of ordered(parsed.get('sorts'))) {
    if (g.name !== 'createTime' && g.name !== 'totalMemory') {
      throw new DomainError('INVALID_ARGUMENT', `sorts.${n}.name: must be createTime or totalMemory, got "${g.name ?? ''}"`);
    }
    if (g.direction !== 'asc' && g.direction !== 'desc') {
      throw new DomainError('INVALID_ARGUMENT', `sorts.${n}.direction: must be asc or desc, got "${g.direction ?? ''}"`);
    }
    // JD: totalMemory takes priority over createTime when both are given, whatever their order.
    if (g.name === 'totalMemory') out.memorySort = g.direction;
    else out.sortDirection = g.direction;
  }
  for (const [n, g] of ordered(parsed.get('tagFilters'))) {
    if (!g.key) throw new DomainError('INVALID_ARGUMENT', `tagFilters.${n}.key: required`);
    out.tagFilters!.push({ key: g.key, values: g.values.sort((a, b) => a[0] - b[0]).map(([, v]) => v) });
  }
  const groupIds = resourceGroupIds(query);
  if (groupIds.length > 0) out.resourceGroupIds = groupIds;
  return out;
}

/** `resourceGroupIds.N` (N from 1, any order): the instances of any of these resource groups. */
function resourceGroupIds(query: Record<string, unknown>): string[] {
  const found: [number, string][] = [];
  for (const [k, raw] of Object.entries(query)) {
    const m = RESOURCE_GROUP_KEY.exec(k);
    if (!m) continue;
    const value = first(raw);
    if (value.length === 0 || value.length > 64) {
      throw new DomainError('INVALID_ARGUMENT', `resourceGroupIds.${m[1]}: must be a resource group id of 1 to 64 characters`);
    }
    found.push([Number(m[1]), value]);
  }
  if (found.length > MAX_RESOURCE_GROUP_IDS) {
    throw new DomainError('INVALID_ARGUMENT', `resourceGroupIds: at most ${MAX_RESOURCE_GROUP_IDS} ids, got ${found.length}`);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** One `filters.N` group into the query, with its operator (see EXACT_OPERATORS and the others). */
function applyFilter(out: InstanceListQuery, field: string, g: Group): void {
  if (!g.name) throw new DomainError('INVALID_ARGUMENT', `${field}.name: required when ${field}.values is given`);
  const columns = FILTER_COLUMNS[g.name as keyof typeof FILTER_COLUMNS];
  if (!columns) {
    throw new DomainError('INVALID_ARGUMENT', `${field}.name: unknown filter "${g.name}"; allowed: ${Object.keys(FILTER_COLUMNS).join(', ')}`);
  }
  const [key, column] = columns;
  const operator = g.operator ?? 'eq';
  const allowed = g.name === 'cacheInstanceName' ? NAME_OPERATORS : g.name === 'redisVersion' ? VERSION_OPERATORS : EXACT_OPERATORS;
  if (!allowed.includes(operator)) {
    throw new DomainError('INVALID_ARGUMENT', `${field}.operator: the ${g.name} filter takes ${allowed.join(', ')}, got "${operator}"`);
  }
  let values = g.values.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
  if (values.length === 0) return;
  if (g.name === 'instanceType') {
    const unknown = values.find((v) => !INSTANCE_TYPES[v]);
    if (unknown) throw new DomainError('INVALID_ARGUMENT', `${field}.values: instanceType must be redis or redis_cluster, got "${unknown}"`);
    values = values.flatMap((v) => INSTANCE_TYPES[v]!);
  }
  if (operator in BOUNDS) {
    const version = Number(values[0]);
    if (values.length !== 1 || !/^\d{1,3}(\.\d{1,3})?$/.test(values[0]!)) {
      throw new DomainError('INVALID_ARGUMENT', `${field}.values: operator ${operator} takes one version such as 4.0, got ${JSON.stringify(values)}`);
    }
    (out.versionBounds ??= []).push({ op: BOUNDS[operator as keyof typeof BOUNDS], version });
    return;
  }
  if (key === 'nameContains') {
    // Substrings cannot be intersected like exact values: each name filter is its own AND group.
    if (operator === 'ne') (out.nameExcludes ??= []).push(...values);
    else (out.nameContains ??= []).push(values);
    return;
  }
  if (operator === 'ne') {
    (out.excluded ??= []).push({ column, values });
    return;
  }
  // Several filters on the same name AND together: intersect.
  const prev = out[key];
  out[key] = prev ? prev.filter((v) => values.includes(v)) : values;
  if (prev && out[key]!.length === 0) out[key] = ['\u0000no-match'];
}
