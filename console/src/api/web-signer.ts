/**
 * JDCLOUD2-HMAC-SHA256 in the browser with WebCrypto: the console calls the same signed API the SDKs
 * call, so it has no data path of its own. The secret key lives only in the memory of this page (see
 * session.ts); the derived signing key is kept there too, per day and region, as a non-extractable key.
 * Same chain as src/signing (reference §2.4), checked against the reference vectors by
 * test/console/web-signer.fast.test.ts.
 */

export interface WebRequestToSign {
  method: string;
  /** Decoded path segments after the origin, e.g. ['v1', 'regions', 'cn-north-1', 'cacheInstance']. */
  segments: readonly string[];
  /** Decoded query pairs, in any order. */
  query: readonly (readonly [string, string])[];
  /** Host as the browser sends it (`location.host`). */
  host: string;
  /** Body exactly as it will be sent ('' for none). */
  body: string;
  date: Date;
  nonce: string;
}

export interface SignedRequest {
  /** Path and query to fetch (already encoded; the canonical form is the same text). */
  pathAndQuery: string;
  /** Headers to send; `host` is not among them (the browser sets it, and signs what it sets). */
  headers: Record<string, string>;
}

const encoder = new TextEncoder();

/** RFC 3986 encoding as the SDKs' `uriEscape`: encodeURIComponent plus `!'()*`. */
export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', encoder.encode(text)));
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function hmac(key: CryptoKey, data: string): Promise<ArrayBuffer> {
  return crypto.subtle.sign('HMAC', key, encoder.encode(data));
}

function importHmacKey(raw: BufferSource, extractable: boolean): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, extractable, ['sign']);
}

/** `2024-01-02T03:04:05.678Z` → `20240102T030405Z`. */
export function jdcloudDate(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** kSigning of reference §2.4 as a non-extractable WebCrypto key (the secret is not kept inside it). */
export async function deriveSigningKey(secretKey: string, date8: string, region: string, service = 'redis'): Promise<CryptoKey> {
  let key = await importHmacKey(encoder.encode(`JDCLOUD2${secretKey}`), false);
  for (const part of [date8, region, service]) key = await importHmacKey(await hmac(key, part), false);
  return importHmacKey(await hmac(key, 'jdcloud2_request'), false);
}

const SIGNED_HEADERS = ['accept', 'content-type', 'host', 'x-jdcloud-date', 'x-jdcloud-nonce'] as const;

/**
 * Signs one request like jdcloud-sdk-js. The path and query are sent in their canonical form (each
 * segment and component RFC 3986 encoded, the query sorted), so what the server makes canonical from
 * the received URL is exactly what was signed here.
 */
export async function signWebRequest(req: WebRequestToSign, accessKey: string, region: string, signingKey: (date8: string) => Promise<CryptoKey>): Promise<SignedRequest> {
  const path = '/' + req.segments.map(rfc3986).join('/');
  const sorted = [...req.query].sort(([ak, av], [bk, bv]) => compare(ak, bk) || compare(av, bv));
  const query = sorted.map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).join('&');
  const date = jdcloudDate(req.date);
  const date8 = date.slice(0, 8);
  const values: Record<(typeof SIGNED_HEADERS)[number], string> = {
    accept: 'application/json',
    'content-type': 'application/json',
    host: req.host,
    'x-jdcloud-date': date,
    'x-jdcloud-nonce': req.nonce,
  };
  const headerLines = SIGNED_HEADERS.map((name) => `${name}:${values[name].trim()}\n`).join('');
  const canonical = `${req.method}\n${path}\n${query}\n${headerLines}\n${SIGNED_HEADERS.join(';')}\n${await sha256Hex(req.body)}`;
  const scope = `${date8}/${region}/redis/jdcloud2_request`;
  const toSign = `JDCLOUD2-HMAC-SHA256\n${date}\n${scope}\n${await sha256Hex(canonical)}`;
  const signature = hex(await hmac(await signingKey(date8), toSign));
  return {
    pathAndQuery: query ? `${path}?${query}` : path,
    headers: {
      accept: values.accept,
      'content-type': values['content-type'],
      'x-jdcloud-date': date,
      'x-jdcloud-nonce': req.nonce,
      authorization: `JDCLOUD2-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${SIGNED_HEADERS.join(';')}, Signature=${signature}`,
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
