/**
 * describeCacheInstances' query parsing (src/api/list-query.ts): JD's operators per filter,
 * resourceGroupIds, the totalMemory sort and its priority, and refusals naming the field. The store
 * side runs in test/api/sdk-fidelity.test.ts through the SDK.
 */
import { describe, expect, it } from 'vitest';
import { parseListQuery } from '../../src/api/list-query.ts';

const scope = { account: 'AK', region: 'cn-north-1' };
const parse = (query: Record<string, unknown>) => parseListQuery(query, scope);
const refused = (query: Record<string, unknown>): string => {
  try {
    parse(query);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('parseListQuery', () => {
  it('eq and in match any value, ne none of them, on exact filters', () => {
    expect(parse({ 'filters.1.name': 'cacheInstanceStatus', 'filters.1.values.1': 'running', 'filters.1.values.2': 'error' }).statuses).toEqual(['running', 'error']);
    expect(parse({ 'filters.1.name': 'vpcId', 'filters.1.operator': 'in', 'filters.1.values.1': 'v1' }).vpcIds).toEqual(['v1']);
    expect(parse({ 'filters.1.name': 'chargeMode', 'filters.1.operator': 'ne', 'filters.1.values.1': 'prepaid_by_duration' }).excluded).toEqual([
      { column: 'charge_mode', values: ['prepaid_by_duration'] },
    ]);
    expect(parse({ 'filters.1.name': 'instanceType', 'filters.1.operator': 'ne', 'filters.1.values.1': 'redis_cluster' }).excluded).toEqual([
      { column: 'instance_type', values: ['cluster', 'native-cluster'] },
    ]);
  });

  it('the name filter is a substring match (eq, in, like) or its negation (ne)', () => {
    const q = parse({
      'filters.1.name': 'cacheInstanceName',
      'filters.1.operator': 'like',
      'filters.1.values.1': 'web',
      'filters.2.name': 'cacheInstanceName',
      'filters.2.operator': 'ne',
      'filters.2.values.1': 'test',
    });
    expect(q.nameContains).toEqual([['web']]);
    expect(q.nameExcludes).toEqual(['test']);
  });

  it('redisVersion takes version bounds with one value', () => {
    expect(parse({ 'filters.1.name': 'redisVersion', 'filters.1.operator': 'ge', 'filters.1.values.1': '5.0' }).versionBounds).toEqual([{ op: '>=', version: 5 }]);
    expect(parse({ 'filters.1.name': 'redisVersion', 'filters.1.operator': 'lt', 'filters.1.values.1': '7' }).versionBounds).toEqual([{ op: '<', version: 7 }]);
    expect(refused({ 'filters.1.name': 'redisVersion', 'filters.1.operator': 'gt', 'filters.1.values.1': 'seven' })).toMatch(/^filters\.1\.values: operator gt takes one version/);
    expect(refused({ 'filters.2.name': 'redisVersion', 'filters.2.operator': 'gt', 'filters.2.values.1': '4.0', 'filters.2.values.2': '5.0' })).toMatch(/^filters\.2\.values: /);
  });

  it('refuses an operator a filter cannot take, naming the field and the allowed ones', () => {
    expect(refused({ 'filters.3.name': 'subnetId', 'filters.3.operator': 'gt', 'filters.3.values.1': 's' })).toBe('filters.3.operator: the subnetId filter takes eq, in, ne, got "gt"');
    expect(refused({ 'filters.1.name': 'cacheInstanceName', 'filters.1.operator': 'regex', 'filters.1.values.1': 'a' })).toBe(
      'filters.1.operator: the cacheInstanceName filter takes eq, in, like, ne, got "regex"',
    );
  });

  it('resourceGroupIds.N in index order, bounded', () => {
    expect(parse({ 'resourceGroupIds.2': 'rg-b', 'resourceGroupIds.1': 'rg-a' }).resourceGroupIds).toEqual(['rg-a', 'rg-b']);
    expect(parse({}).resourceGroupIds).toBeUndefined();
    expect(refused({ 'resourceGroupIds.1': '' })).toMatch(/^resourceGroupIds\.1: must be a resource group id of 1 to 64 characters/);
    expect(refused(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`resourceGroupIds.${i + 1}`, 'rg'])))).toBe('resourceGroupIds: at most 100 ids, got 101');
  });

  it('totalMemory sorts first whatever the order of the sorts; createTime keeps its direction', () => {
    const q = parse({ 'sorts.1.name': 'createTime', 'sorts.1.direction': 'asc', 'sorts.2.name': 'totalMemory', 'sorts.2.direction': 'desc' });
    expect([q.memorySort, q.sortDirection]).toEqual(['desc', 'asc']);
    expect(parse({}).memorySort).toBeUndefined();
    expect(refused({ 'sorts.1.name': 'name', 'sorts.1.direction': 'asc' })).toBe('sorts.1.name: must be createTime or totalMemory, got "name"');
  });
});
