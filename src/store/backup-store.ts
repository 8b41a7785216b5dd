import type { Readable } from 'node:stream';

/** What the store knows of one stored file. */
export interface StoredFile {
  bytes: number;
  /** SHA-256 hex of the contents. */
  sha256: string;
}

/**
 * Where backup files live, by key (`<instanceId>/<baseId>/shard-<n>.rdb`). A directory by default
 * (directory-backup-store.ts, `JCS_BACKUP_DIR`); an object store is another implementation of the same
 * few members. Keys come from the service, never from a caller.
 */
export interface BackupStore {
  /** A local path a new file for `key` may be written to first (on the store's filesystem when it has one). */
  stagingPath(key: string): Promise<string>;
  /**
   * Takes the staged file in as `key` (the staged file is gone afterwards); returns its size and checksum:
   * `known` when the caller computed them from the staged file already (the snapshot does, while
   * redis-check-rdb reads it), else computed here.
   */
  putStaged(key: string, staged: string, known?: StoredFile): Promise<StoredFile>;
  /** A local file with `key`'s contents, for a restore (a directory store hands its own file out). */
  localFile(key: string): Promise<string>;
  /** The file as a stream (never read whole into memory), with its size; undefined when there is none. */
  open(key: string, range?: { start: number; end: number }): Promise<{ stream: Readable; bytes: number } | undefined>;
  /** The size and checksum of `key`, computed from its contents; undefined when there is none. */
  check(key: string): Promise<StoredFile | undefined>;
  /** Removes every file whose key starts with `prefix` (a backup's `<instanceId>/<baseId>/`). */
  removePrefix(prefix: string): Promise<void>;
}
