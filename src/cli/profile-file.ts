import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './exit-codes.ts';

/** Settings a profile may hold; every key is optional. */
export interface Profile {
  endpoint?: string;
  access_key?: string;
  secret_key?: string;
  region?: string;
}

const KEYS = new Set(['endpoint', 'access_key', 'secret_key', 'region']);

/** `$HOME/.jcs-redis/config` (HOME from the given environment, so tests can point it elsewhere). */
export function profileFilePath(env: NodeJS.ProcessEnv): string {
  return join(env.HOME || homedir(), '.jcs-redis', 'config');
}

/**
 * Parses the INI profile file:
 *
 *     [default]
 *     endpoint = http://127.0.0.1:8000
 *     access_key = AK…
 *     secret_key = SK…
 *     region = cn-north-1
 *
 *     [staging]
 *     endpoint = https://redis.staging.example.com
 *
 * `#` and `;` start comment lines. Unknown keys are an error, so a typo is not silently ignored.
 */
export function parseProfileFile(text: string, fileName: string): Map<string, Profile> {
  const profiles = new Map<string, Profile>();
  let current: Profile | undefined;
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      const name = section[1] as string;
      current = profiles.get(name) ?? {};
      profiles.set(name, current);
      return;
    }
    const eq = line.indexOf('=');
    const key = eq < 0 ? '' : line.slice(0, eq).trim();
    if (!current || !KEYS.has(key)) {
      throw new UsageError(
        `${fileName}:${i + 1}: expected "[profile]" or one of ${[...KEYS].join(', ')} as "key = value", got "${line}"`,
      );
    }
    current[key as keyof Profile] = line.slice(eq + 1).trim();
  });
  return profiles;
}

/**
 * Reads one profile. A missing file is fine (empty profile); a missing named profile is an error
 * unless it is `default`.
 */
export function readProfile(env: NodeJS.ProcessEnv, name: string): Profile {
  const file = profileFilePath(env);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      if (name === 'default') return {};
      throw new UsageError(`profile "${name}" not found: ${file} does not exist`);
    }
    throw err;
  }
  const profile = parseProfileFile(text, file).get(name);
  if (!profile && name !== 'default') throw new UsageError(`profile "${name}" not found in ${file}`);
  return profile ?? {};
}
