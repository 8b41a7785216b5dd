import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { fileChecksum } from '../../file-checksum.ts';
import { PermanentDriverError } from '../driver.ts';

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
export function checkRdb(binary: string, file: string, signal: AbortSignal): Promise<RdbCheck> {
  return new Promise((resolve, reject) => {
    const child = execFile(binary, [file], { signal, maxBuffer: 1 << 20, timeout: 600_000 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return reject(new PermanentDriverError(`${binary} not found: install redis-tools or set JCS_REDIS_CHECK_RDB`));
        if (signal.aborted) return reject(err);
        return reject(new PermanentDriverError(`redis-check-rdb refused ${file}: ${out.trim().slice(-TAIL_CHARS)}`));
      }
      if (!/RDB looks OK/i.test(out)) return reject(new PermanentDriverError(`redis-check-rdb did not accept ${file}: ${out.trim().slice(-TAIL_CHARS)}`));
      const keys = /(\d+) keys read/.exec(out);
      resolve({ keys: keys ? Number(keys[1]) : 0 });
    });
    // Lowest CPU priority: on a small host the check must not take the cores the instances' nodes serve on.
    try {
      if (child.pid !== undefined) setPriority(child.pid, 19);
    } catch {
      // exited already
    }
  });
}

/**
 * SHA-256 and size of `file`, computed by coreutils' `sha256sum` at nice 19 (like the check beside it: on a
 * small host the tenants' nodes come first; hashing in the service's own thread competed with them at
 * normal priority). Without `sha256sum`, falls back to hashing in process.
 */
export async function niceSha256(file: string, signal: AbortSignal): Promise<{ bytes: number; sha256: string }> {
  const bytes = (await stat(file)).size;
  const out = await new Promise<string | null>((resolve, reject) => {
    const child = execFile('sha256sum', ['-b', file], { signal, maxBuffer: 1 << 16, timeout: 600_000 }, (err, stdout) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return resolve(null);
      if (err) return reject(err);
      resolve(stdout);
    });
    try {
      if (child.pid !== undefined) setPriority(child.pid, 19);
    } catch {
      // exited already
    }
  });
  if (out === null) return fileChecksum(file);
  const sha256 = /^([0-9a-f]{64})\s/.exec(out)?.[1];
  if (!sha256) throw new Error(`sha256sum gave no checksum for ${file}: ${out.slice(0, 200)}`);
  return { bytes, sha256 };
}
