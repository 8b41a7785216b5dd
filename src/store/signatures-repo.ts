import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database, UsedSignaturesTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/** Rows per INSERT at most: two parameters each, well under every dialect's limit on bound parameters. */
const INSERT_CHUNK = 256;

/** Records one signature; false when it was already recorded (the primary key refuses it: a replay). */
export async function insertSignature(db: Q, row: UsedSignaturesTable): Promise<boolean> {
  const res = await db
    .insertInto('used_signatures')
    .values(row)
    .onConflict((oc) => oc.columns(['expires_ms', 'signature']).doNothing())
    .executeTakeFirst();
  return (res.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/**
 * SQL of an insert of `rows` rows, by row count, per database. Kysely's builder costs about as much
 * per row as SQLite's insert (~3 µs); the replay guard writes one row per signed read, so the SQL is
 * built once per size (sizes are powers of two, see insertSignatures) and run with new parameters.
 */
const insertSqlCache = new WeakMap<Q, Map<number, string>>();

function insertSql(db: Q, rows: number): string {
  let bySize = insertSqlCache.get(db);
  if (!bySize) insertSqlCache.set(db, (bySize = new Map()));
  let text = bySize.get(rows);
  if (text === undefined) {
    const placeholders = Array.from({ length: rows }, () => ({ expires_ms: 0, signature: '' }));
    text = db
      .insertInto('used_signatures')
      .values(placeholders)
      .onConflict((oc) => oc.columns(['expires_ms', 'signature']).doNothing())
      .compile().sql;
    bySize.set(rows, text);
  }
  return text;
}

/**
 * Records many signatures, skipping those already recorded; returns how many were already there.
 * Written in chunks of 256 rows and then powers of two, so at most nine statement shapes exist;
 * each chunk is one statement, atomic on its own.
 */
export async function insertSignatures(db: Q, rows: readonly UsedSignaturesTable[]): Promise<number> {
  let present = 0;
  let at = 0;
  while (at < rows.length) {
    let size = INSERT_CHUNK;
    while (size > rows.length - at) size >>= 1;
    const parameters: (string | number)[] = [];
    for (let i = at; i < at + size; i++) parameters.push(rows[i]!.expires_ms, rows[i]!.signature);
    const res = await db.executeQuery(CompiledQuery.raw(insertSql(db, size), parameters));
    present += size - Number(res.numAffectedRows ?? 0n);
    at += size;
  }
  return present;
}

/** Up to `limit` signatures still valid at `nowMs`, those expiring last first. */
export async function unexpiredSignatures(db: Q, nowMs: number, limit: number): Promise<UsedSignaturesTable[]> {
  return db
    .selectFrom('used_signatures')
    .select(['expires_ms', 'signature'])
    .where('expires_ms', '>', nowMs)
    .orderBy('expires_ms', 'desc')
    .limit(limit)
    .execute();
}

/**
 * Deletes signatures expired at `nowMs`, the oldest first, about `limit` at a time (a few more when
 * several expire in the same millisecond); returns how many it deleted.
 */
export async function deleteExpiredSignatures(db: Q, nowMs: number, limit: number): Promise<number> {
  const res = await db
    .deleteFrom('used_signatures')
    .where('expires_ms', '<=', nowMs)
    .where('expires_ms', '<=', (eb) =>
      eb.fn.coalesce(
        eb.selectFrom('used_signatures').select('expires_ms').orderBy('expires_ms').limit(1).offset(limit - 1),
        eb.val(nowMs),
      ),
    )
    .executeTakeFirst();
  return Number(res.numDeletedRows);
}
