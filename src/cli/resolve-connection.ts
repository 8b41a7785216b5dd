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
  const accessKey = pick(flags.accessKey, env.JCS_ACCESS_KEY, profile.access_key);
  const secretKey = pick(flags.secretKey, env.JCS_SECRET_KEY, profile.secret_key);
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
  return { endpoint, accessKey, secretKey, region };
}
