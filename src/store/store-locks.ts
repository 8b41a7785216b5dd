import { SqliteAdapter, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * Locks the `capacity` row for the rest of the caller's transaction: admission control (quotas, host
 * memory), port reservation, and the starts that allow one at a time per instance or count a quota
 * (createBackup and scheduled backups, cache analyses, data purges) read what is there, then write
 * their own, which is safe only when no other transaction does the same in between. On PostgreSQL
 * under READ COMMITTED a second transaction waits here until the first commits, and its next statement
 * reads what the first wrote. Lock it first, before any other row the transaction writes, so two such
 * transactions never wait on each other.
 *
 * On SQLite it does nothing: the store is one process (the data directory's lock) on one connection,
 * whose transactions already run one after the other; taking a write lock there would only make two
 * connections of one process (tests) wait on each other synchronously, which blocks the one thread that
 * could end the first transaction. So callers need not ask which database they run on.
 */
export async function lockCapacity(trx: Q): Promise<void> {
  await lockRow(trx, 'capacity');
}

/**
 * Locks the `first-start` row for the rest of the caller's transaction: what an empty store gets once,
 * whichever of the processes started together gets there first (the first account). Same rules as
 * lockCapacity (nothing on SQLite).
 */
export async function lockFirstStart(trx: Q): Promise<void> {
  await lockRow(trx, 'first-start');
}

async function lockRow(trx: Q, name: 'capacity' | 'first-start'): Promise<void> {
  // A transaction is not the Kysely instance the dialect was remembered for: ask its adapter.
  if (trx.getExecutor().adapter instanceof SqliteAdapter) return;
  await trx
    .updateTable('store_locks')
    .set((eb) => ({ taken: eb('taken', '+', 1) }))
    .where('name', '=', name)
    .execute();
}
