import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

/** Which database a store runs on: the embedded SQLite file, or a PostgreSQL server (`JCS_DATABASE_URL`). */
export type StoreDialect = 'sqlite' | 'postgres';

const dialects = new WeakMap<Db, StoreDialect>();

/** Called by the store openers: remembers which dialect a Kysely instance speaks. */
export function rememberDialect(db: Db, dialect: StoreDialect): void {
  dialects.set(db, dialect);
}

/**
 * The dialect of a store opened by openStore (a transaction is not one: pass the store). Repository
 * functions use it only where the dialects need different SQL (row locks PostgreSQL has and SQLite does
 * not need, since SQLite runs one transaction at a time).
 */
export const dialectOf = (db: Db): StoreDialect => dialects.get(db) ?? 'sqlite';

/** True for a `postgres://` or `postgresql://` URL: openStore opens PostgreSQL for those, a SQLite file otherwise. */
export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//i.test(location);
