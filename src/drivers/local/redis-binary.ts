import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PermanentDriverError } from '../driver.ts';

const execFileAsync = promisify(execFile);

/** ACL selectors, `CLUSTER SHARDS` and `-command|subcommand` rules all need Redis 7.0. */
export const MIN_REDIS_VERSION = [7, 0] as const;

const FIX = 'install it (apt-get install redis-server) or set JCS_REDIS_SERVER to the path of redis-server >= 7.0';

/**
 * Runs `<binary> --version` and returns the version (e.g. `7.0.15`).
 * Throws PermanentDriverError when the binary is missing, not runnable, or older than 7.0.
 */
export async function checkRedisBinary(binary: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(binary, ['--version'], { timeout: 5_000 }));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : `failed (${String(err)})`;
    throw new PermanentDriverError(`redis-server "${binary}" ${why}: ${FIX}`);
  }
  const m = /v=(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!m) throw new PermanentDriverError(`"${binary} --version" printed no version ("${stdout.trim()}"): ${FIX}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  const version = `${m[1]}.${m[2]}.${m[3]}`;
  if (major < MIN_REDIS_VERSION[0] || (major === MIN_REDIS_VERSION[0] && minor < MIN_REDIS_VERSION[1])) {
    throw new PermanentDriverError(`redis-server "${binary}" is ${version}, too old: ${FIX}`);
  }
  return version;
}
