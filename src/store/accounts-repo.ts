import type { Db } from './open-store.ts';
import type { Kysely, Transaction } from 'kysely';
import type { Database, AccountsTable } from './schema.ts';
import { lockFirstStart } from './store-locks.ts';

type Q = Kysely<Database> | Transaction<Database>;

export async function insertAccount(db: Q, row: AccountsTable): Promise<void> {
  await db.insertInto('accounts').values(row).execute();
}

/** Inserts the account unless one with its access key exists (processes starting at once); true when inserted. */
export async function insertAccountIfMissing(db: Q, row: AccountsTable): Promise<boolean> {
  const res = await db.insertInto('accounts').values(row).onConflict((oc) => oc.column('access_key').doNothing()).executeTakeFirst();
  return (res.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/**
 * The first account of an empty store, made once however many service processes start at once: under
 * the `first-start` lock the store is read and, only when it holds no account, `row` is inserted and
 * `beforeCommit` runs (the caller writes the credentials file there: a commit that fails then leaves a
 * file naming no account, replaced at the next start, never an account whose secret no file holds).
 * Returns the store's first account and whether this call made it.
 */
export async function insertFirstAccount(db: Db, row: AccountsTable, beforeCommit: () => Promise<void>): Promise<{ account: AccountsTable; created: boolean }> {
  return db.transaction().execute(async (trx) => {
    await lockFirstStart(trx);
    const first = await trx.selectFrom('accounts').selectAll().orderBy('created_at').limit(1).executeTakeFirst();
    if (first) return { account: first, created: false };
    await trx.insertInto('accounts').values(row).execute();
    await beforeCommit();
    return { account: row, created: true };
  });
}

export async function findAccount(db: Q, accessKey: string): Promise<AccountsTable | undefined> {
  return db.selectFrom('accounts').selectAll().where('access_key', '=', accessKey).executeTakeFirst();
}

export async function listAccounts(db: Db): Promise<AccountsTable[]> {
  return db.selectFrom('accounts').selectAll().orderBy('created_at').execute();
}

/** Deletes an account; refuses (returns false) while it still owns instances. */
export async function deleteAccount(db: Db, accessKey: string): Promise<'deleted' | 'missing' | 'has-instances'> {
  return db.transaction().execute(async (trx) => {
    const owned = await trx
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('account', '=', accessKey)
      .executeTakeFirstOrThrow();
    if (Number(owned.n) > 0) return 'has-instances';
    const res = await trx.deleteFrom('accounts').where('access_key', '=', accessKey).executeTakeFirst();
    return res.numDeletedRows > 0n ? 'deleted' : 'missing';
  });
}
