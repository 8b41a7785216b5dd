import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { fileChecksum } from '../file-checksum.ts';
import type { BackupStore } from './backup-store.ts';

const STAGING = '.staging';

/**
 * The backup store as a directory (`JCS_BACKUP_DIR`, default `<data dir>/backups`, mode 0700): a file per
 * key. Staged files live in its `.staging/` folder, so taking one in is a rename.
 */
export function createDirectoryBackupStore(root: string): BackupStore {
  const base = resolve(root);
  function pathOf(key: string): string {
    // Keys are made by the service; still, none may climb out of the store.
    const p = resolve(base, key);
    if (!p.startsWith(base + sep) || key.split('/').some((part) => part === '' || part === '.' || part === '..' || part.startsWith('.'))) {
      throw new Error(`backup key "${key}" is not a safe path`);
    }
    return p;
  }
  return {
    async stagingPath(key) {
      const dir = join(base, STAGING);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      return join(dir, pathOf(key).slice(base.length + 1).replaceAll('/', '_'));
    },
    async putStaged(key, staged, known) {
      const sum = known ?? (await fileChecksum(staged));
      const dest = pathOf(key);
      await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
      await rename(staged, dest);
      return sum;
    },
    async localFile(key) {
      return pathOf(key);
    },
    async open(key, range) {
      const path = pathOf(key);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) return undefined;
      const stream = createReadStream(path, { highWaterMark: 1 << 20, ...(range ? { start: range.start, end: range.end } : {}) });
      return { stream, bytes: st.size };
    },
    async check(key) {
      const path = pathOf(key);
      if (!(await stat(path).catch(() => null))?.isFile()) return undefined;
      return fileChecksum(path);
    },
    async removePrefix(prefix) {
      await rm(pathOf(prefix.replace(/\/+$/, '')), { recursive: true, force: true });
      // Its instance folder goes once empty (rmdir refuses a folder that still has files).
      const parent = dirname(pathOf(prefix.replace(/\/+$/, '')));
      if (parent !== base) await rmdir(parent).catch(() => undefined);
    },
  };
}
