import { createHmac } from 'node:crypto';
import type { SigningVersion } from './canonical-request.ts';

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `yyyyMMdd/region/service/jdcloud2_request` (or `jdcloud3_request`). */
export function credentialScope(date8: string, region: string, service: string, version: SigningVersion): string {
  return `${date8}/${region}/${service}/${version.toLowerCase()}_request`;
}

/** Key chain of reference §2.4: `"JDCLOUD2"+secret` → date → region → service → `jdcloud2_request`. */
export function deriveSigningKey(
  secretKey: string,
  date8: string,
  region: string,
  service: string,
  version: SigningVersion,
): Buffer {
  const kDate = hmac(version + secretKey, date8);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, `${version.toLowerCase()}_request`);
}

const keyCache = new Map<string, Buffer>();

/**
 * deriveSigningKey, memoised: the key depends only on the secret, the day, the region and the
 * service, so a busy verifier would otherwise repeat the same four HMACs for every request. Bounded
 * (cleared at 1,000 entries). Keyed by the secret itself: the verifier holds it in memory anyway, and
 * hashing it per request would cost what the memo saves.
 */
export function cachedSigningKey(secretKey: string, date8: string, region: string, service: string, version: SigningVersion): Buffer {
  const id = `${version}\n${secretKey}\n${date8}\n${region}\n${service}`;
  let key = keyCache.get(id);
  if (!key) {
    key = deriveSigningKey(secretKey, date8, region, service, version);
    if (keyCache.size >= 1_000) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

/** The string to sign: algorithm, x-jdcloud-date, scope and the hex SHA-256 of the canonical request. */
export function stringToSign(version: SigningVersion, jdcloudDate: string, scope: string, canonicalRequestHash: string): string {
  return `${version}-HMAC-SHA256\n${jdcloudDate}\n${scope}\n${canonicalRequestHash}`;
}

/** Lower-case hex HMAC-SHA256 of the string to sign with the derived key. */
export function computeSignature(signingKey: Buffer, toSign: string): string {
  return createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex');
}
