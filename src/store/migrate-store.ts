import { Migrator } from 'kysely';
import { migrationProvider } from './migrations.ts';
import type { Db, StoreDialect } from './store-dialect.ts';

/**
 * Runs the migrations the store has not had yet. Kysely's Migrator takes its lock first (a lock row on
 * SQLite, an advisory lock on PostgreSQL), so several processes starting at once migrate once.
 * Destroys the store and throws when a migration fails.
 */
export async function migrateStore(db: Db, dialect: StoreDialect): Promise<void> {
  const { error, results } = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(`store migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`);
  }
}
