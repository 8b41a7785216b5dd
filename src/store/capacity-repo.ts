import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/** Instances grouped by owner, region and memory per shard: the few rows admission control sums. */
export interface FootprintRow {
  account: string;
  region: string;
  memory_mb_per_shard: number;
  shards: number;
  instances: number;
}

/**
 * Every instance row on this store, whatever its account and status (a row exists until the delete
 * task has stopped its processes). Call it inside the transaction that inserts or resizes, so two
 * concurrent creates cannot both fit into the same free memory.
 */
export async function footprintRows(db: Q): Promise<FootprintRow[]> {
  const rows = await db
    .selectFrom('instances')
    .select((eb) => [
      'account',
      'region',
      'memory_mb_per_shard',
      eb.fn.sum<number>('shard_number').as('shards'),
      eb.fn.countAll<number>().as('instances'),
    ])
    .groupBy(['account', 'region', 'memory_mb_per_shard'])
    .execute();
  return rows.map((r) => ({ ...r, shards: Number(r.shards), instances: Number(r.instances) }));
}
