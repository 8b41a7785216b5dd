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

/** The string to sign: algorithm, x-jdcloud-date, scope and the hex SHA-256 of the canonical request. */
export function stringToSign(version: SigningVersion, jdcloudDate: string, scope: string, canonicalRequestHash: string): string {
  return [`${version}-HMAC-SHA256`, jdcloudDate, scope, canonicalRequestHash].join('\n');
}

/** Lower-case hex HMAC-SHA256 of the string to sign with the derived key. */
export function computeSignature(signingKey: Buffer, toSign: string): string {
  return createHmac('sha256', signingKey).update(toSign, 'utf8').digest('hex');
}
