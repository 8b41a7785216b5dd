import { sqliteChangeCounter } from './sqlite/sqlite-change-counter.ts';
import type { Db } from './store-dialect.ts';

/**
 * A reader of the store's change counter: a value that is different after every committed change,
 * for caches of what was read from the store; undefined when it cannot vouch for the value, and then
 * callers do not cache. On SQLite see sqlite/sqlite-change-counter.ts. On PostgreSQL other service
 * processes commit at any time and nothing cheap tells this one, so it is always undefined: the API's
 * read cache is off there and the engine reads the settled instances every turn.
 */
export function changeCounter(db: Db, now: () => number = Date.now): () => string | undefined {
  return sqliteChangeCounter(db, now) ?? (() => undefined);
}
