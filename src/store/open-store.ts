import { checkSqliteIntegrity, openSqliteStore } from './sqlite/open-sqlite-store.ts';
import { openPostgresStore, type PostgresStoreOptions } from './postgres/open-postgres-store.ts';
import { dialectOf, isPostgresUrl, type Db } from './store-dialect.ts';

export type { Db } from './store-dialect.ts';

/**
 * Opens the store at `location` and runs pending migrations: a `postgres://` URL opens PostgreSQL
 * (several service processes may share it); anything else is the path of the embedded SQLite file.
 */
export async function openStore(location: string, opts: PostgresStoreOptions = {}): Promise<Db> {
  return isPostgresUrl(location) ? openPostgresStore(location, opts) : openSqliteStore(location);
}

/**
 * The database's own integrity check; returns the problems found (empty when healthy). SQLite checks
 * its file; PostgreSQL has no such check for a client to run (its own checksums and WAL do that work).
 */
export async function checkStoreIntegrity(db: Db): Promise<string[]> {
  return dialectOf(db) === 'sqlite' ? checkSqliteIntegrity(db) : [];
}
