import { DomainError } from '../domain/domain-error.ts';
import type { InstanceListQuery } from '../domain/instances/instance-inputs.ts';

/**
 * Parses describeCacheInstances' flattened query keys (reference §3.1): `filters.N.name`,
 * `filters.N.values.M`, `filters.N.operator`, `sorts.N.name|direction`, `tagFilters.N.key|values.M`,
 * in any order and with gaps in the numbering (the JS SDK leaves gaps in tagFilters).
 */
const GROUP_KEY = /^(filters|sorts|tagFilters)\.(\d+)\.(name|values|operator|direction|key)(?:\.(\d+))?$/;

interface Group {
  name?: string;
  key?: string;
  operator?: string;
  direction?: string;
  values: [number, string][];
}

const FILTER_COLUMNS = {
  cacheInstanceId: 'ids',
  cacheInstanceName: 'nameContains',
  cacheInstanceStatus: 'statuses',
  redisVersion: 'redisVersions',
  instanceType: 'instanceTypes',
  chargeMode: 'chargeModes',
  vpcId: 'vpcIds',
  subnetId: 'subnetIds',
} as const;

/** The largest page number (2^31 - 1): offsets stay exact integers on every store. */
export const MAX_PAGE_NUMBER = 2_147_483_647;

const INSTANCE_TYPES: Record<string, string[]> = { redis: ['master-slave'], redis_cluster: ['cluster', 'native-cluster'] };
const OPERATORS = new Set(['eq', 'in', 'like']);

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
  for (const [n, g] of ordered(parsed.get('filters'))) {
    const field = `filters.${n}`;
    if (!g.name) throw new DomainError('INVALID_ARGUMENT', `${field}.name: required when ${field}.values is given`);
    const column = FILTER_COLUMNS[g.name as keyof typeof FILTER_COLUMNS];
    if (!column) {
      throw new DomainError('INVALID_ARGUMENT', `${field}.name: unknown filter "${g.name}"; allowed: ${Object.keys(FILTER_COLUMNS).join(', ')}`);
    }
    if (g.operator !== undefined && !OPERATORS.has(g.operator)) {
      throw new DomainError('INVALID_ARGUMENT', `${field}.operator: must be eq, in or like, got "${g.operator}"`);
    }
    let values = g.values.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
    if (values.length === 0) continue;
    if (g.name === 'instanceType') {
      const unknown = values.find((v) => !INSTANCE_TYPES[v]);
      if (unknown) throw new DomainError('INVALID_ARGUMENT', `${field}.values: instanceType must be redis or redis_cluster, got "${unknown}"`);
      values = values.flatMap((v) => INSTANCE_TYPES[v]!);
    }
    if (column === 'nameContains') {
      // Substrings cannot be intersected like exact values: each name filter is its own AND group.
      (out.nameContains ??= []).push(values);
      continue;
    }
    // Several filters on the same name AND together: intersect.
    const prev = out[column];
    out[column] = prev ? prev.filter((v) => values.includes(v)) : values;
    if (prev && out[column]!.length === 0) out[column] = ['\u0000no-match'];
  }
  for (const [n, g] of ordered(parsed.get('sorts'))) {
    if (g.name !== 'createTime') {
      throw new DomainError('INVALID_ARGUMENT', `sorts.${n}.name: only createTime can be sorted on, got "${g.name ?? ''}"`);
    }
    if (g.direction !== 'asc' && g.direction !== 'desc') {
      throw new DomainError('INVALID_ARGUMENT', `sorts.${n}.direction: must be asc or desc, got "${g.direction ?? ''}"`);
    }
    out.sortDirection = g.direction;
  }
  for (const [n, g] of ordered(parsed.get('tagFilters'))) {
    if (!g.key) throw new DomainError('INVALID_ARGUMENT', `tagFilters.${n}.key: required`);
    out.tagFilters!.push({ key: g.key, values: g.values.sort((a, b) => a[0] - b[0]).map(([, v]) => v) });
  }
  return out;
}
