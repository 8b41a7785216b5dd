import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, InstancesTable, InstanceTagsTable } from './schema.ts';
import { precompiled } from './precompiled-query.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type InstanceRecord = Selectable<InstancesTable>;

/** Columns a list filter compares exactly. */
export type ListColumn = 'id' | 'status' | 'redis_version' | 'instance_type' | 'charge_mode' | 'vpc_id' | 'subnet_id' | 'resource_group_id';

/** A list query after the API has parsed and validated it. Every array is an OR; fields AND together. */
export interface InstanceListQuery {
  account: string;
  region: string;
  ids?: string[];
  /** Substring matches: every group must match (AND), any name within a group (OR). */
  nameContains?: string[][];
  /** Substrings no name may contain (JD's `ne` on the name filter). */
  nameExcludes?: string[];
  statuses?: string[];
  redisVersions?: string[];
  instanceTypes?: string[];
  chargeModes?: string[];
  vpcIds?: string[];
  subnetIds?: string[];
  resourceGroupIds?: string[];
  /** Values a column must not have (JD's `ne`). */
  excluded?: { column: ListColumn; values: string[] }[];
  /** Engine version bounds (JD's `lt`, `le`, `gt`, `ge` on redisVersion), compared as numbers. */
  versionBounds?: { op: '<' | '<=' | '>' | '>='; version: number }[];
  tagFilters?: { key: string; values: string[] }[];
  /** Sort by total memory (shards × memory per shard) first, when given (JD: it takes priority over createTime). */
  memorySort?: 'asc' | 'desc';
  sortDirection: 'asc' | 'desc';
  offset: number;
  limit: number;
}

export async function insertInstance(db: Q, row: InstancesTable, tags: { key: string; value: string }[]): Promise<void> {
  await db.insertInto('instances').values(row).execute();
  if (tags.length > 0) {
    await db
      .insertInto('instance_tags')
      .values(tags.map((t) => ({ instance_id: row.id, key: t.key, value: t.value })))
      .execute();
  }
}

/** Finds an instance of one account in one region; another account's instance is simply not found. */
export async function findInstance(db: Q, account: string, region: string, id: string): Promise<InstanceRecord | undefined> {
  return db
    .selectFrom('instances')
    .selectAll()
    .where('id', '=', id)
    .where('account', '=', account)
    .where('region', '=', region)
    .executeTakeFirst();
}

/**
 * findInstance plus what describe shows beside the row, in one query: the tags (a LEFT JOIN: one result
 * row per tag, or one with null tag columns).
 */
const viewQuery = precompiled(
  (db: Q, id: string, account: string, region: string) =>
    db
      .selectFrom('instances as i')
      .leftJoin('instance_tags as t', 't.instance_id', 'i.id')
      .selectAll('i')
      .select(['t.key as tag_key', 't.value as tag_value'])

      .where('i.id', '=', id)
      .where('i.account', '=', account)
      .where('i.region', '=', region),
  ['\u0000id', '\u0000account', '\u0000region'],
);

export async function findInstanceForView(
  db: Q,
  account: string,
  region: string,
  id: string,
): Promise<{ row: InstanceRecord; port: number; tags: { key: string; value: string }[] } | undefined> {
  const rows = await viewQuery(db, id, account, region);
  const first = rows[0];
  if (!first) return undefined;
  const { tag_key: _k, tag_value: _v, ...row } = first;
  const tags = rows.filter((r) => r.tag_key !== null).map((r) => ({ key: r.tag_key!, value: r.tag_value ?? '' }));
  return { row, port: row.endpoint_port ?? 0, tags };
}

/** Compiled once: every health check reads its instance's row. */
const byIdQuery = precompiled((db: Q, id: string) => db.selectFrom('instances').selectAll().where('id', '=', id), ['\u0000id']);

export async function getInstanceById(db: Q, id: string): Promise<InstanceRecord | undefined> {
  return (await byIdQuery(db, id))[0];
}

export async function countInstances(db: Q, account: string, region: string): Promise<number> {
  const r = await db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('account', '=', account)
    .where('region', '=', region)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

const escapeLike = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export async function listInstances(
  db: Q,
  q: InstanceListQuery,
): Promise<{ rows: InstanceRecord[]; total: number }> {
  let base = db.selectFrom('instances as i').where('i.account', '=', q.account).where('i.region', '=', q.region);
  const inList = (col: ListColumn, values: string[] | undefined): void => {
    if (values && values.length > 0) base = base.where(sql.ref<string>(`i.${col}`), 'in', values);
  };
  inList('id', q.ids);
  inList('status', q.statuses);
  inList('redis_version', q.redisVersions);
  inList('instance_type', q.instanceTypes);
  inList('charge_mode', q.chargeModes);
  inList('vpc_id', q.vpcIds);
  inList('subnet_id', q.subnetIds);
  inList('resource_group_id', q.resourceGroupIds);
  for (const { column, values } of q.excluded ?? []) base = base.where(sql.ref<string>(`i.${column}`), 'not in', values);
  for (const { op, version } of q.versionBounds ?? []) {
    base = base.where(sql<boolean>`cast(${sql.ref('i.redis_version')} as real) ${sql.raw(op)} ${version}`);
  }
  // Name filters ignore case on both dialects: SQLite's LIKE does (for ASCII), PostgreSQL's does not,
  // so both sides are lowered (ASCII on SQLite, Unicode on PostgreSQL).
  const nameLike = (n: string) => sql<boolean>`lower(${sql.ref('i.name')}) like ${`%${escapeLike(n.toLowerCase())}%`} escape '\\'`;
  for (const n of q.nameExcludes ?? []) base = base.where((eb) => eb.not(nameLike(n)));
  for (const names of q.nameContains ?? []) base = base.where((eb) => eb.or(names.map(nameLike)));
  for (const tf of q.tagFilters ?? []) {
    base = base.where((eb) => {
      let sub = eb.selectFrom('instance_tags as t').select('t.instance_id').whereRef('t.instance_id', '=', 'i.id').where('t.key', '=', tf.key);
      if (tf.values.length > 0) sub = sub.where('t.value', 'in', tf.values);
      return eb.exists(sub);
    });
  }
  const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  // Page through the (account, region, created_ms, id) index alone, then read only the page's rows:
  // a deep OFFSET otherwise reads every skipped row in full.
  // Ordered by total memory first when asked (an expression, so such pages read the rows they skip).
  const totalMemory = sql<number>`i.memory_mb_per_shard * i.shard_number`;
  let pageQuery = base.select('i.id');
  if (q.memorySort) pageQuery = pageQuery.orderBy(totalMemory, q.memorySort);
  const pageIds = pageQuery.orderBy('i.created_ms', q.sortDirection).orderBy('i.id', q.sortDirection).offset(q.offset).limit(q.limit);
  let rowsQuery = db.selectFrom('instances as r').selectAll('r').where('r.id', 'in', pageIds);
  if (q.memorySort) rowsQuery = rowsQuery.orderBy(sql<number>`r.memory_mb_per_shard * r.shard_number`, q.memorySort);
  const rows = await rowsQuery.orderBy('r.created_ms', q.sortDirection).orderBy('r.id', q.sortDirection).execute();
  return { rows, total: Number(total.n) };
}

export async function tagsOf(db: Q, ids: string[]): Promise<Map<string, { key: string; value: string }[]>> {
  const out = new Map<string, { key: string; value: string }[]>();
  if (ids.length === 0) return out;
  const rows: InstanceTagsTable[] = await db.selectFrom('instance_tags').selectAll().where('instance_id', 'in', ids).execute();
  for (const r of rows) {
    const list = out.get(r.instance_id) ?? [];
    list.push({ key: r.key, value: r.value });
    out.set(r.instance_id, list);
  }
  return out;
}

/**
 * Stores a new IP white list (JSON) unless the instance is being deleted; returns whether it did. The
 * caller writes the task that applies it in the same transaction.
 */
export async function setIpWhiteList(db: Q, id: string, json: string): Promise<boolean> {
  const res = await db.updateTable('instances').set({ ip_white_list: json }).where('id', '=', id).where('status', '!=', 'deleting').executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

export async function updateInstance(db: Q, id: string, patch: Partial<InstancesTable>): Promise<void> {
  await db.updateTable('instances').set(patch).where('id', '=', id).execute();
}

/** Removes the instance row with its tags and port reservations (the caller's transaction). */
export async function deleteInstanceRow(db: Q, id: string): Promise<void> {
  await db.deleteFrom('instance_tags').where('instance_id', '=', id).execute();
  await db.deleteFrom('ports').where('instance_id', '=', id).execute();
  await db.deleteFrom('instances').where('id', '=', id).execute();
}

export async function instancesInStatus(db: Q, statuses: string[]): Promise<InstanceRecord[]> {
  return db.selectFrom('instances').selectAll().where('status', 'in', statuses).execute();
}

/** Every instance's id, owner, region and status: what metrics label and count by (one small query a scrape). */
export async function instanceLabels(db: Q): Promise<Pick<InstanceRecord, 'id' | 'account' | 'region' | 'status'>[]> {
  return db.selectFrom('instances').select(['id', 'account', 'region', 'status']).execute();
}
