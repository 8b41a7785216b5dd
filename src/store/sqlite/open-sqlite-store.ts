import { mkdirSync, chmodSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from '../schema.ts';
import { rememberDialect, type Db } from '../store-dialect.ts';
import { migrateStore } from '../migrate-store.ts';

/** What SQLite-only fast paths (sqlite/sqlite-change-counter.ts) may use of a store openSqliteStore opened. */
export interface SqliteInternals {
  sqlite: SqliteDatabase.Database;
  /**
   * How many statements that may write (SQLite does not call them read-only) the store's Kysely
   * instance has run so far, not counting those on tables no cache reads (NOT_READ_BY_CACHES).
   * While it has not moved, nothing this process wrote through Kysely can have changed what a cache
   * of store reads holds.
   */
  writesRun: () => number;
}

const internals = new WeakMap<Db, SqliteInternals>();

/**
 * Tables whose rows no cached read depends on: writes to them do not count as writes for the change
 * counter (sqlite/sqlite-change-counter.ts). The replay guard writes a signature for every signed
 * request; counting those would drop the API's read cache every 150 ms under load. The lease tables
 * are renewed every few seconds by the engine and hold nothing an answer shows. Matched in the
 * statement's SQL, as Kysely quotes it.
 */
const NOT_READ_BY_CACHES = ['"used_signatures"', '"health_leases"', '"service_processes"'];

/** The SQLite internals of a store opened by openSqliteStore; undefined for any other Kysely instance. */
export const sqliteInternals = (db: Db): SqliteInternals | undefined => internals.get(db);

/**
 * Opens (creating when missing) the SQLite store at `file`, in WAL mode, and runs pending migrations.
 * The file holds account secrets, so it is created with mode 0600.
 */
export async function openSqliteStore(file: string): Promise<Db> {
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
  rememberDialect(db, 'sqlite');
  await migrateStore(db, 'sqlite');
  internals.set(db, { sqlite, writesRun: () => count.writes });
  return db;
}

/**
 * Kysely's SQLite driver prepares every statement anew; preparing costs more than running a point
 * query. Kysely serialises queries on its single connection, so reusing a prepared statement is safe.
 * Kysely prepares each query right before running it, so counting the statements handed out that
 * are not read-only counts the writes run (except those on NOT_READ_BY_CACHES tables).
 */
function withStatementCache(sqlite: SqliteDatabase.Database, count: { writes: number }, max = 500): SqliteDatabase.Database {
  const cache = new Map<string, { stmt: SqliteDatabase.Statement; counts: boolean }>();
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop !== 'prepare') return Reflect.get(target, prop, receiver) as unknown;
      return (source: string) => {
        let entry = cache.get(source);
        if (!entry) {
          const stmt = target.prepare(source);
          entry = { stmt, counts: !stmt.readonly && !NOT_READ_BY_CACHES.some((table) => source.includes(table)) };
          if (cache.size >= max) cache.delete(cache.keys().next().value as string);
          cache.set(source, entry);
        }
        if (entry.counts) count.writes++;
        return entry.stmt;
      };
    },
  });
}

/** Runs SQLite's own integrity check; returns the problems found (empty when healthy). */
export async function checkSqliteIntegrity(db: Db): Promise<string[]> {
  const res = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(db);
  return res.rows.map((r) => r.integrity_check).filter((r) => r !== 'ok');
}
