import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * Locks the `capacity` row for the rest of the caller's transaction: admission control (quotas, host
 * memory), port reservation, and the starts that allow one at a time per instance or count a quota
 * (createBackup and scheduled backups, cache analyses, data purges) read what is there, then write
 * their own, which is safe only when no other transaction does the same in between. On PostgreSQL
 * under READ COMMITTED a second transaction waits here until the first commits, and its next statement
 * reads what the first wrote. On SQLite (one writer at a time) it only makes the transaction a writer at once. Lock it
 * first, before any other row the transaction writes, so two such transactions never wait on each other.
 */
export async function lockCapacity(trx: Q): Promise<void> {
  await trx
    .updateTable('store_locks')
    .set((eb) => ({ taken: eb('taken', '+', 1) }))
    .where('name', '=', 'capacity')
    .execute();
}
