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

/** A program that prints a file's SHA-256: how to call it, and where its output has the hex digest. */
export interface Sha256Tool {
  binary: string;
  args(file: string): string[];
  digest: RegExp;
}

/**
 * OpenSSL first: its SHA-256 uses the CPU's SHA extensions (or AVX2) and hashed a 244 MB backup in
 * 0.29 s where coreutils' `sha256sum` took 1.4 s on the same host; `sha256sum` where there is no openssl.
 * `-r` makes openssl print `<hex> *<file>`, as sha256sum does.
 */
export const SHA256_TOOLS: readonly Sha256Tool[] = [
  { binary: 'openssl', args: (file) => ['dgst', '-sha256', '-r', file], digest: /^([0-9a-f]{64}) / },
  { binary: 'sha256sum', args: (file) => ['-b', file], digest: /^([0-9a-f]{64})\s/ },
];

/**
 * SHA-256 and size of `file`, computed by the first of `tools` installed, at the lowest priority
 * (run-in-background.ts, like the check beside it: on a small host the tenants' nodes come first; hashing
 * in the service's own thread competed with them at normal priority). With none installed, falls back to
 * hashing in process.
 */
export async function niceSha256(file: string, signal: AbortSignal, tools: readonly Sha256Tool[] = SHA256_TOOLS): Promise<{ bytes: number; sha256: string }> {
  const bytes = (await stat(file)).size;
  for (const tool of tools) {
    const out = await runInBackground(tool.binary, tool.args(file), signal).then(
      (r) => {
        if (r.code !== 0) throw new Error(`${tool.binary} failed on ${file}: ${r.stderr.trim().slice(-TAIL_CHARS)}`);
        return r.stdout;
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      },
    );
    if (out === null) continue;
    const sha256 = tool.digest.exec(out)?.[1];
    if (!sha256) throw new Error(`${tool.binary} gave no checksum for ${file}: ${out.slice(0, 200)}`);
    return { bytes, sha256 };
  }
  return fileChecksum(file);
}
