import type { DescribeCacheInstancesQuery } from './api-types.ts';

/**
 * Flattens list parameters into query pairs exactly like jdcloud-sdk-js (reference §3.1), in the SDK's
 * order (pageNumber, pageSize, filters, tagFilters, sorts, resourceGroupIds):
 * - filters: only entries with a name and a non-empty values array, renumbered without gaps;
 * - sorts: only entries with both name and direction, renumbered;
 * - tagFilters: entries with a key, numbered by array position (skipped entries leave gaps);
 * - resourceGroupIds: every element.
 */
export function flattenDescribeQuery(q: DescribeCacheInstancesQuery): [string, string][] {
  const pairs: [string, string][] = [];
  if (q.pageNumber !== undefined) pairs.push(['pageNumber', String(q.pageNumber)]);
  if (q.pageSize !== undefined) pairs.push(['pageSize', String(q.pageSize)]);

  let n = 0;
  for (const filter of q.filters ?? []) {
    if (!filter.name || !Array.isArray(filter.values) || filter.values.length === 0) continue;
    n++;
    pairs.push([`filters.${n}.name`, filter.name]);
    filter.values.forEach((value, m) => pairs.push([`filters.${n}.values.${m + 1}`, value]));
    if (filter.operator) pairs.push([`filters.${n}.operator`, filter.operator]);
  }

  (q.tagFilters ?? []).forEach((tag, i) => {
    if (!tag.key) return;
    pairs.push([`tagFilters.${i + 1}.key`, tag.key]);
    (tag.values ?? []).forEach((value, m) => pairs.push([`tagFilters.${i + 1}.values.${m + 1}`, value]));
  });

  n = 0;
  for (const sort of q.sorts ?? []) {
    if (!sort.name || !sort.direction) continue;
    n++;
    pairs.push([`sorts.${n}.name`, sort.name], [`sorts.${n}.direction`, sort.direction]);
  }

  (q.resourceGroupIds ?? []).forEach((id, i) => pairs.push([`resourceGroupIds.${i + 1}`, id]));
  return pairs;
}

/**
 * Encodes pairs as the JS SDK's requests appear on the wire: `encodeURIComponent` (`!()*` stay raw),
 * plus `'` as `%27`, which the WHATWG URL parser in fetch would encode in a query anyway.
 */
export function encodeQuery(pairs: [string, string][]): string {
  const enc = (text: string) => encodeURIComponent(text).replace(/'/g, '%27');
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}
