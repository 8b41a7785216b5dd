import type { Db } from '../store-dialect.ts';
import { sqliteInternals } from './open-sqlite-store.ts';

/** How often another process's commits are looked for (PRAGMA data_version costs ~3 µs; this is per call). */
const OTHER_WRITERS_CHECK_MS = 250;

/**
 * A reader of the store's change counter: a value that is different after every committed change,
 * for caches of what was read from the store. Returns undefined when it cannot vouch for the value:
 * while a transaction is open on the connection (its changes may still roll back), or on a store
 * that is not SQLite this returns undefined instead of a reader (store/change-counter.ts).
 *
 * Changes by this process are seen at once: SQLite's total_changes() counts every row this
 * connection inserts, updates or deletes. It is asked again only after a statement that may write
 * ran through the store's Kysely instance (all of the service's writes do): a read that follows only
 * reads costs no SQLite call (bench:api: ~2 µs of a cached read). Writes to tables no cache reads
 * (the replay guard's signatures, one per signed request) do not count (sqlite/open-sqlite-store.ts), so they
 * leave the value alone until the next real change. Commits by another process
 * (the `accounts` CLI, which writes only accounts) are seen through PRAGMA data_version, checked at
 * most every 250 ms.
 */
export function sqliteChangeCounter(db: Db, now: () => number = Date.now): (() => string | undefined) | undefined {
  const store = sqliteInternals(db);
  if (!store) return undefined;
  const { sqlite, writesRun: writes } = store;
  const changes = sqlite.prepare('select total_changes()').pluck();
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  let otherWriters = dataVersion.get() as number;
  let checkedAt = now();
  let writesSeen = writes();
  let version = `${otherWriters}:${changes.get() as number}`;
  return () => {
    if (!sqlite.open || sqlite.inTransaction) return undefined;
    const t = now();
    let stale = false;
    if (t - checkedAt >= OTHER_WRITERS_CHECK_MS) {
      checkedAt = t;
      const v = dataVersion.get() as number;
      stale = v !== otherWriters;
      otherWriters = v;
    }
    const w = writes();
    if (stale || w !== writesSeen) {
      writesSeen = w;
      version = `${otherWriters}:${changes.get() as number}`;
    }
    return version;
  };
}
