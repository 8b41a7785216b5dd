import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { canonicalRequest, headerText, sha256Hex } from './canonical-request.ts';
import { parseAuthorizationHeader } from './authorization-header.ts';
import { rememberLast } from './memo.ts';
import { cachedSigningKey, credentialScope, signatureBytes, stringToSign } from './signing-key.ts';

export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as received (Node's `req.url`), e.g. `/v1/regions/cn-north-1/quota?x=1`. */
  rawUrl: string;
  /** Node's lower-case header object. */
  headers: IncomingHttpHeaders;
  /** The exact body bytes received (empty for GET/DELETE). Never a re-serialization. */
  body: Buffer;
}

export interface VerifyOptions {
  now: Date;
  /** Largest accepted difference between x-jdcloud-date and `now`, either way. Default 15 minutes. */
  maxSkewMs?: number;
  /** Expected service in the credential scope. Default `redis`. */
  service?: string;
}

export type VerifyResult =
  | {
      ok: true;
      accessKey: string;
      /** Region of the credential scope; the caller may require it to equal the path's regionId. */
      region: string;
      /**
       * The verified signature (64 lower-case hex characters). It covers the date, method, path,
       * query, signed headers and body: the key for replay protection, which is the caller's job.
       */
      signature: string;
      /** When the request stops passing the clock-skew check (x-jdcloud-date + max skew). */
      expiresAtMs: number;
    }
  | { ok: false; reason: string };

const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

/**
 * One answer for a wrong signature and for an unknown access key, so that the answer does not tell
 * whether an access key exists. JD's gateway says "sign result is not same" for the former.
 */
export const SIGNATURE_MISMATCH =
  'sign result is not same: the signature does not match the request, or the access key is unknown (check the access key, secret key, path, query, signed headers and body)';

/**
 * Secret used to compute the HMAC for an unknown access key, so such a request costs the same work
 * (and about the same time) as one with a wrong signature. No account can have it: secrets are hex.
 */
const UNKNOWN_KEY_SECRET = 'no account has this secret: it only keeps the timing alike';
const JDCLOUD_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Milliseconds of an x-jdcloud-date; the last answer is remembered (a busy client's requests share a second). */
const parseJdcloudDate = rememberLast(parseDate);

function parseDate(text: string): number | undefined {
  const m = JDCLOUD_DATE.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  // Date.UTC rolls over (month 13 is next January), so a field out of range is refused here.
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

function fail(reason: string): VerifyResult {
  return { ok: false, reason };
}

/**
 * Verifies a JDCLOUD2/JDCLOUD3-HMAC-SHA256 signed request (reference §2.5). The reason of a failure
 * names the check that failed; it is safe to show to the caller (it never contains the secret or the
 * expected signature), except that an unknown access key and a wrong signature get the same reason.
 * Replay protection is not done here: the caller remembers `signature` (domain/replay-guard.ts).
 *
 * The date is always taken from the x-jdcloud-date header, signed or not: the Python SDK sends it
 * without signing it. Which headers are signed is the client's choice, read from SignedHeaders.
 */
export function verifyRequest(
  req: ReceivedRequest,
  lookupSecret: (accessKey: string) => string | undefined,
  opts: VerifyOptions,
): VerifyResult {
  const service = opts.service ?? 'redis';
  const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;

  const authorization = headerText(req.headers, 'authorization');
  if (authorization === undefined || authorization === '') return fail('lack of header authorization');
  const auth = parseAuthorizationHeader(authorization);
  if (!auth) {
    return fail(
      'malformed authorization header: expected "JDCLOUD2-HMAC-SHA256 Credential=<accessKey>/<yyyyMMdd>/<region>/<service>/jdcloud2_request, SignedHeaders=<h1;h2>, Signature=<64 hex>"',
    );
  }
  if (auth.service !== service) return fail(`service in the credential scope is "${auth.service}", expected "${service}"`);

  const jdcloudDate = headerText(req.headers, 'x-jdcloud-date');
  if (!jdcloudDate) return fail('lack of header x-jdcloud-date');
  const requestMs = parseJdcloudDate(jdcloudDate);
  if (requestMs === undefined) return fail(`x-jdcloud-date "${jdcloudDate}" is not in the form yyyyMMddTHHmmssZ`);
  if (jdcloudDate.slice(0, 8) !== auth.date8) {
    return fail(`credential scope date ${auth.date8} does not match x-jdcloud-date ${jdcloudDate}`);
  }
  const nonce = headerText(req.headers, 'x-jdcloud-nonce');
  if (!nonce) return fail('lack of header x-jdcloud-nonce');

  const nowMs = opts.now.getTime();
  if (Math.abs(nowMs - requestMs) > maxSkewMs) {
    return fail(
      `x-jdcloud-date ${jdcloudDate} is more than ${Math.round(maxSkewMs / 60000)} minutes away from the server time ${opts.now.toISOString()}`,
    );
  }

  const found = lookupSecret(auth.accessKey);
  const secretKey = found ?? UNKNOWN_KEY_SECRET;

  if (auth.signedHeaders.some((name) => req.headers[name] === undefined)) {
    const missing = auth.signedHeaders.filter((name) => req.headers[name] === undefined);
    return fail(`signed header(s) missing from the request: ${missing.join(', ')}`);
  }

  const queryStart = req.rawUrl.indexOf('?');
  const path = queryStart < 0 ? req.rawUrl : req.rawUrl.slice(0, queryStart);
  const query = queryStart < 0 ? '' : req.rawUrl.slice(queryStart + 1);
  const canonical = canonicalRequest(
    {
      method: req.method,
      path,
      query,
      signedHeaders: auth.signedHeaders,
      // No closure per request here: with tsx's keepNames each named one also costs a defineProperty.
      headers: req.headers,
      bodySha256: sha256Hex(req.body),
    },
    auth.version,
  );
  const scope = credentialScope(auth.date8, auth.region, auth.service, auth.version);
  const key = cachedSigningKey(secretKey, auth.date8, auth.region, auth.service, auth.version);
  const expected = signatureBytes(key, stringToSign(auth.version, jdcloudDate, scope, sha256Hex(canonical)));
  // The parser guarantees 64 hex characters, so both sides are 32 bytes.
  if (!timingSafeEqual(expected, Buffer.from(auth.signature, 'hex')) || found === undefined) return fail(SIGNATURE_MISMATCH);
  return { ok: true, accessKey: auth.accessKey, region: auth.region, signature: auth.signature, expiresAtMs: requestMs + maxSkewMs };
}
