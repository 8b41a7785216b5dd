import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

/** Held while a service process owns a SQLite data directory; release() lets the next one in. */
export interface DataDirLock {
  release(): void;
}

/**
 * Takes the data directory's service lock, or throws with a clear message when another live process
 * holds it: on SQLite one service process owns the store (several need PostgreSQL). The lock is an
 * exclusive SQLite lock on `<dataDir>/serve.lock`, an OS file lock, so the kernel drops it when its
 * process dies, even by SIGKILL: no stale lock file to clean up, no PID to misread. The store file
 * itself is not locked: the `accounts` CLI may still write accounts while the service runs.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, 'serve.lock');
  const lock = new SqliteDatabase(file, { timeout: 0 });
  try {
    lock.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode it is kept until close().
    lock.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder; COMMIT');
    lock.prepare('INSERT INTO holder VALUES (?)').run(process.pid);
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        `another jcs-redis service process already uses the data directory ${dataDir}; with the embedded SQLite store only one may (stop it, or set JCS_DATABASE_URL to run several on PostgreSQL)`,
      );
    }
    throw err;
  }
  return { release: () => lock.close() };
}
