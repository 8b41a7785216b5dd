import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './exit-codes.ts';
import { readProfile } from './profile-file.ts';

/** Connection flags as given on the command line (all optional). */
export interface ConnectionFlags {
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  region?: string;
  profile?: string;
}

export interface Connection {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Set when the keys came from a local service's credentials.json (the caller says so on stderr). */
  keysFrom?: string;
}

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8000';
export const DEFAULT_REGION = 'cn-north-1';

/**
 * Resolves each setting on its own: flag, then environment (`JCS_ENDPOINT`, `JCS_ACCESS_KEY`,
 * `JCS_SECRET_KEY`, `JCS_REGION`), then the profile (`--profile`, `JCS_PROFILE`, else `default`) in
 * `~/.jcs-redis/config`, then the default (endpoint and region only).
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Connection {
  const profile = readProfile(env, flags.profile || env.JCS_PROFILE || 'default');
  const pick = (flag: string | undefined, envValue: string | undefined, fromProfile: string | undefined) =>
    flag || envValue || fromProfile || undefined;

  const endpoint = pick(flags.endpoint, env.JCS_ENDPOINT, profile.endpoint) ?? DEFAULT_ENDPOINT;
  const region = pick(flags.region, env.JCS_REGION, profile.region) ?? DEFAULT_REGION;
  let accessKey = pick(flags.accessKey, env.JCS_ACCESS_KEY, profile.access_key);
  let secretKey = pick(flags.secretKey, env.JCS_SECRET_KEY, profile.secret_key);
  let keysFrom: string | undefined;
  if (!accessKey && !secretKey && isLocal(endpoint)) {
    const found = localCredentials(env);
    if (found) ({ accessKey, secretKey, file: keysFrom } = found);
  }
  if (!accessKey || !secretKey) {
    throw new UsageError(
      `no ${accessKey ? 'secret' : 'access'} key: pass --access-key/--secret-key, set JCS_ACCESS_KEY/JCS_SECRET_KEY, ` +
        'or add access_key/secret_key to ~/.jcs-redis/config',
    );
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`endpoint "${endpoint}" is not a URL (expected e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`endpoint "${endpoint}" must start with http:// or https://`);
  }
  return { endpoint, accessKey, secretKey, region, ...(keysFrom && { keysFrom }) };
}

function isLocal(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}

/**
 * The key pair a local service generated on its first start (`<data dir>/credentials.json`, data dir
 * `JCS_DATA_DIR` or `./data`), so that `npm start` then the CLI works in the same directory. Only a
 * file of this user that no one else may write is trusted: another local user must not be able to
 * plant keys the CLI would then use.
 */
function localCredentials(env: NodeJS.ProcessEnv): { accessKey: string; secretKey: string; file: string } | undefined {
  const file = resolve(env.JCS_DATA_DIR ?? 'data', 'credentials.json');
  try {
    const st = statSync(file);
    if ((process.getuid && st.uid !== process.getuid()) || (st.mode & 0o022) !== 0) return undefined;
    const pair = JSON.parse(readFileSync(file, 'utf8')) as { accessKey?: unknown; secretKey?: unknown };
    if (typeof pair.accessKey !== 'string' || typeof pair.secretKey !== 'string' || !pair.accessKey || !pair.secretKey) return undefined;
    return { accessKey: pair.accessKey, secretKey: pair.secretKey, file };
  } catch {
    return undefined;
  }
}
