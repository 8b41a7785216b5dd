import { randomUUID } from 'node:crypto';
import { canonicalRequest, sha256Hex, type SigningVersion } from './canonical-request.ts';
import { formatAuthorizationHeader } from './authorization-header.ts';
import { computeSignature, credentialScope, deriveSigningKey, stringToSign } from './signing-key.ts';

export interface RequestToSign {
  method: string;
  /** Path exactly as it will be sent, e.g. `/v1/regions/cn-north-1/cacheInstance/redis-x%3AresetCacheInstancePassword`. */
  path: string;
  /** Query string exactly as it will be sent, without `?` ('' or undefined when none). */
  query?: string;
  /** Headers that will be sent (any case). Include `host` (with `:port` when not default) as the SDKs do. */
  headers: Record<string, string>;
  /** Body exactly as it will be sent; undefined for GET/DELETE. */
  body?: string | Buffer;
}

export interface Credentials {
  accessKey: string;
  secretKey: string;
}

export interface SignOptions {
  region: string;
  /** Default `redis`. */
  service?: string;
  /** Default: now. Only whole seconds are used. */
  date?: Date;
  /** Default: a random UUID v4, as the SDKs send. */
  nonce?: string;
  /** Default `JDCLOUD2` (JS and Go SDKs). */
  algorithm?: SigningVersion;
  /**
   * Header names to sign. Default: every header given plus x-jdcloud-date and x-jdcloud-nonce, except
   * `authorization` and `user-agent` (the JS SDK's rule). The Python SDK signs only `content-type;host`.
   */
  signedHeaders?: readonly string[];
}

/** Headers the signer adds to the request. */
export interface SignatureHeaders {
  'x-jdcloud-date': string;
  'x-jdcloud-nonce': string;
  authorization: string;
}

const UNSIGNABLE = new Set(['authorization', 'user-agent']);

/** `2024-01-02T03:04:05.678Z` → `20240102T030405Z`. */
export function formatJdcloudDate(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** Signs a request like the JD Cloud SDKs do and returns the headers to add to it. */
export function signRequest(req: RequestToSign, creds: Credentials, opts: SignOptions): SignatureHeaders {
  const version = opts.algorithm ?? 'JDCLOUD2';
  const service = opts.service ?? 'redis';
  const jdcloudDate = formatJdcloudDate(opts.date ?? new Date());
  const nonce = opts.nonce ?? randomUUID();

  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers)) headers.set(name.toLowerCase(), value);
  headers.set('x-jdcloud-date', jdcloudDate);
  headers.set('x-jdcloud-nonce', nonce);

  const signedHeaders = (opts.signedHeaders ?? [...headers.keys()].filter((name) => !UNSIGNABLE.has(name)))
    .map((name) => name.toLowerCase())
    .sort();
  for (const name of signedHeaders) {
    if (!headers.has(name)) throw new Error(`cannot sign header "${name}": it is not in the request`);
  }

  const canonical = canonicalRequest(
    {
      method: req.method,
      path: req.path,
      query: req.query ?? '',
      signedHeaders,
      headers: Object.fromEntries(headers),
      bodySha256: sha256Hex(req.body ?? ''),
    },
    version,
  );
  const date8 = jdcloudDate.slice(0, 8);
  const scope = credentialScope(date8, opts.region, service, version);
  const key = deriveSigningKey(creds.secretKey, date8, opts.region, service, version);
  const signature = computeSignature(key, stringToSign(version, jdcloudDate, scope, sha256Hex(canonical)));

  return {
    'x-jdcloud-date': jdcloudDate,
    'x-jdcloud-nonce': nonce,
    authorization: formatAuthorizationHeader({
      version,
      accessKey: creds.accessKey,
      date8,
      region: opts.region,
      service,
      signedHeaders,
      signature,
    }),
  };
}
