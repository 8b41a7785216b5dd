import { execFile } from 'node:child_process';
import { setPriority } from 'node:os';
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
