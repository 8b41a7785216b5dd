import { mkdirSync, chmodSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations.ts';

export type Db = Kysely<Database>;

/** What SQLite-only fast paths (store/change-counter.ts) may use of a store openStore opened. */
export interface SqliteInternals {
  sqlite: SqliteDatabase.Database;
  /**
   * How many statements that may write (SQLite does not call them read-only) the store's Kysely
   * instance has run so far. While it has not moved, nothing this process wrote through Kysely can
   * have changed the database.
   */
  writesRun: () => number;
}

const internals = new WeakMap<Db, SqliteInternals>();

/** The SQLite internals of a store opened by openStore; undefined for any other Kysely instance. */
export const sqliteInternals = (db: Db): SqliteInternals | undefined => internals.get(db);

/**
 * Opens (creating when missing) the SQLite store at `file`, in WAL mode, and runs pending migrations.
 * The file holds account secrets, so it is created with mode 0600.
 */
export async function openStore(file: string): Promise<Db> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const fresh = !existsSync(file);
  const sqlite = new SqliteDatabase(file);
  if (fresh) chmodSync(file, 0o600);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const count = { writes: 0 };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite, count) }) });
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await db.destroy();
    throw new Error(`store migration failed${failed ? ` at ${failed.migrationName}` : ''}: ${String(error)}`);
  }
  internals.set(db, { sqlite, writesRun: () => count.writes });
  return db;
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running a point
 * query. Kysely serialises queries on its single connection, so reusing a prepared statement is safe.
 * Kysely prepares each query right before running it, so counting the statements handed out that
 * are not read-only counts the writes run.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, count: { writes: number }, max = 500): SqliteDatabase.Database {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') return Reflect.get(target, prop, receiver) as unknown;
      return (source: string) => {
        let stmt = cache.get(source);
        if (!stmt) {
          stmt = target.prepare(source);
          if (cache.size >= max) cache.delete(cache.keys().next().value as string);
          cache.set(source, stmt);
        }
        if (!stmt.readonly) count.writes++;
        return stmt;
      };
    },
  });
}

/** Runs SQLite's own integrity check; returns the problems found (empty when healthy). */
export async function checkStoreIntegrity(db: Db): Promise<string[]> {
  const res = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db);
  return res.rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
}
