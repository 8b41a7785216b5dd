import type { Kysely, Transaction } from 'kysely';
import type { Database, UsedSignaturesTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/** Rows per INSERT: two parameters each, well under every dialect's limit on bound parameters. */
const INSERT_CHUNK = 500;

/** Records one signature; false when it was already recorded (the primary key refuses it: a replay). */
export async function insertSignature(db: Q, row: UsedSignaturesTable): Promise<boolean> {
  const res = await db.insertInto('used_signatures').values(row).onConflict((oc) => oc.column('signature').doNothing()).executeTakeFirst();
  return (res.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/**
 * Records many signatures, skipping those already recorded; returns how many were already there.
 * Each chunk is one statement, so atomic on its own; the caller wraps a transaction if it needs one.
 */
export async function insertSignatures(db: Q, rows: readonly UsedSignaturesTable[]): Promise<number> {
  let present = 0;
  for (let at = 0; at < rows.length; at += INSERT_CHUNK) {
    const chunk = rows.slice(at, at + INSERT_CHUNK);
    const res = await db.insertInto('used_signatures').values(chunk).onConflict((oc) => oc.column('signature').doNothing()).executeTakeFirst();
    present += chunk.length - Number(res.numInsertedOrUpdatedRows ?? 0n);
  }
  return present;
}

/** Up to `limit` signatures still valid at `nowMs`, those expiring last first. */
export async function unexpiredSignatures(db: Q, nowMs: number, limit: number): Promise<UsedSignaturesTable[]> {
  return db
    .selectFrom('used_signatures')
    .select(['signature', 'expires_ms'])
    .where('expires_ms', '>', nowMs)
    .orderBy('expires_ms', 'desc')
    .limit(limit)
    .execute();
}

/** Deletes up to `limit` signatures expired at `nowMs`; returns how many it deleted. */
export async function deleteExpiredSignatures(db: Q, nowMs: number, limit: number): Promise<number> {
  const res = await db
    .deleteFrom('used_signatures')
    .where('signature', 'in', (eb) => eb.selectFrom('used_signatures').select('signature').where('expires_ms', '<=', nowMs).limit(limit))
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
