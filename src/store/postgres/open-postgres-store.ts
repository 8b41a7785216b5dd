import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../schema.ts';
import { rememberDialect, type Db } from '../store-dialect.ts';
import { migrateStore } from '../migrate-store.ts';

/** PostgreSQL type ids of bigint (int8) and numeric (what sum() of a bigint gives). */
const INT8 = 20;
const NUMERIC = 1700;

/**
 * `pg` hands bigint and numeric back as strings (they may not fit a double). Every such value of this
 * store is a count or a millisecond time, far below 2^53, and the SQLite store reads them as numbers:
 * read as numbers here too, for this pool only (pg's global parsers are left alone).
 */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8 || oid === NUMERIC ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface PostgresStoreOptions {
  /** Connections at most (default 10). */
  poolSize?: number;
  /** Called when a pooled connection fails (the server restarted); the pool drops it and reconnects. */
  onIdleError?: (err: Error) => void;
}

/**
 * Opens the PostgreSQL store at `url` (a pool of connections) and runs pending migrations under
 * Kysely's migration lock, so processes starting together migrate once. The URL holds a password:
 * it is never logged, and errors thrown here do not contain it.
 */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Db> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    // A request waits at most this long for a connection while the server is down or restarting, then
    // fails (and the API answers 503 UNAVAILABLE) instead of hanging.
    connectionTimeoutMillis: 5_000,
    types,
  });
  // Without a listener a connection's error (the server restarted) would end the process: the pool
  // listens on idle ones; a connection in use (a transaction between two queries) needs its own. The
  // query in flight fails either way, and the pool drops a broken connection when it is released.
  pool.on('error', (err) => opts.onIdleError?.(err));
  pool.on('connect', (client) => client.on('error', (err) => opts.onIdleError?.(err)));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  rememberDialect(db, 'postgres');
  await migrateStore(db, 'postgres');
  return db;
}
