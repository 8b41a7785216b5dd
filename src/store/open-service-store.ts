import { join } from 'node:path';
import { openStore } from './open-store.ts';
import { lockDataDir } from './sqlite/data-dir-lock.ts';
import type { Db } from './store-dialect.ts';
import { releaseAllTaskLeases } from './tasks-repo.ts';

/** The store file of the embedded SQLite store in a data directory. */
export const storeFile = (dataDir: string): string => join(dataDir, 'jcs-redis.db');

/** The store a service process runs on, and how to let it go. */
export interface ServiceStore {
  db: Db;
  /** Destroys the store (and releases the data directory's lock on SQLite). */
  close(): Promise<void>;
}

/**
 * Opens the service's store: PostgreSQL at `databaseUrl` (shared by every service process), else the
 * SQLite file in `dataDir`, after taking the data directory's lock (one process per SQLite store; the
 * second one started refuses with a clear message). `onIdleError` hears of dropped pooled connections.
 */
export async function openServiceStore(dataDir: string, databaseUrl: string | undefined, onIdleError?: (err: Error) => void): Promise<ServiceStore> {
  if (databaseUrl) {
    const db = await openStore(databaseUrl, onIdleError ? { onIdleError } : {});
    return { db, close: () => db.destroy() };
  }
  const lock = lockDataDir(dataDir);
  try {
    const db = await openStore(storeFile(dataDir));
    try {
      // This process holds the lock: leases left in the file are those of a process that died.
      await releaseAllTaskLeases(db);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return {
      db,
      async close() {
        try {
          await db.destroy();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
