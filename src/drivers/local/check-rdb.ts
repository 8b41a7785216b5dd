import { stat } from 'node:fs/promises';
import { fileChecksum } from '../../file-checksum.ts';
import { PermanentDriverError } from '../driver.ts';
import { runInBackground } from './run-in-background.ts';

/** What redis-check-rdb found in a file it accepted. */
export interface RdbCheck {
  keys: number;
}

/** Output kept in an error message: enough to see why, never a whole dump of the tool's output. */
const TAIL_CHARS = 400;

/**
 * Runs `redis-check-rdb <file>` (Debian's redis-tools; `JCS_REDIS_CHECK_RDB`). Resolves with the key
 * count it read when the file is a whole, valid RDB; a file it refuses is a PermanentDriverError (running
 * it again finds the same file), a missing binary too.
 */
export async function checkRdb(binary: string, file: string, signal: AbortSignal): Promise<RdbCheck> {
  // Lowest CPU priority: on a small host the check must not take the cores the instances' nodes serve on.
  const run = await runInBackground(binary, [file], signal).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new PermanentDriverError(`${binary} not found: install redis-tools or set JCS_REDIS_CHECK_RDB`);
    throw err;
  });
  const out = `${run.stdout}${run.stderr}`;
  if (run.code !== 0) throw new PermanentDriverError(`redis-check-rdb refused ${file}: ${out.trim().slice(-TAIL_CHARS)}`);
  if (!/RDB looks OK/i.test(out)) throw new PermanentDriverError(`redis-check-rdb did not accept ${file}: ${out.trim().slice(-TAIL_CHARS)}`);
  const keys = /(\d+) keys read/.exec(out);
  return { keys: keys ? Number(keys[1]) : 0 };
}

/**
 * SHA-256 and size of `file`, computed by coreutils' `sha256sum` at the lowest priority (run-in-background.ts, like the check beside it: on a
 * small host the tenants' nodes come first; hashing in the service's own thread competed with them at
 * normal priority). Without `sha256sum`, falls back to hashing in process.
 */
export async function niceSha256(file: string, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const bytes = (await stat(file)).size;
  const out = await runInBackground('sha256sum', ['-b', file], signal).then(
    (r) => {
      if (r.code !== 0) throw new Error(`sha256sum failed on ${file}: ${r.stderr.trim().slice(-TAIL_CHARS)}`);
      return r.stdout;
    },
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw err;
    },
  );
  if (out === null) return fileChecksum(file);
  const sha256 = /^([0-9a-f]{64})\s/.exec(out)?.[1];
  if (!sha256) throw new Error(`sha256sum gave no checksum for ${file}: ${out.slice(0, 200)}`);
  return { bytes, sha256 };
}
