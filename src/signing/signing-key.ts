import { createHmac, hash } from 'node:crypto';
import type { SigningVersion } from './canonical-request.ts';
import { memoized } from './memo.ts';

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
  return memoized(keyCache, id, () => deriveSigningKey(secretKey, date8, region, service, version));
}

/** The string to sign: algorithm, x-jdcloud-date, scope and the hex SHA-256 of the canonical request. */
export function stringToSign(version: SigningVersion, jdcloudDate: string, scope: string, canonicalRequestHash: string): string {
  return `${version}-HMAC-SHA256\n${jdcloudDate}\n${scope}\n${canonicalRequestHash}`;
}

/** HMAC pads of a signing key: the key XOR ipad (64 bytes), then the key XOR opad (64 bytes). */
const padsByKey = new WeakMap<Buffer, Buffer>();
/** One buffer for the inner hash input (ipad block + message) and one for the outer (opad block + inner digest). */
const inner = Buffer.allocUnsafe(64 + 1024);
const outer = Buffer.allocUnsafe(64 + 32);

/**
 * Lower-case hex HMAC-SHA256 of the string to sign with the derived key.
 *
 * HMAC (RFC 2104) is computed as two one-shot SHA-256 hashes over the key's pads, which are kept per
 * key object (the verifier's keys come from cachedSigningKey, so each is padded once): createHmac
 * builds an Hmac object and three digest contexts per call, which in the server cost about three
 * times the hashing itself (bench:api: 7.5 µs in situ for the canonical hash + HMAC). The test
 * checks it against createHmac. The pads are cached per Buffer object, so a key must not be changed
 * after it was used (derived keys never are).
 */
export function computeSignature(signingKey: Buffer, toSign: string): string {
  return signatureBytes(signingKey, toSign).toString('hex');
}

/** computeSignature as the 32 digest bytes: the verifier compares bytes, so it skips the hex text. */
export function signatureBytes(signingKey: Buffer, toSign: string): Buffer {
  const size = Buffer.byteLength(toSign, 'utf8');
  // Keys longer than a block would have to be hashed first; derived keys are 32 bytes.
  if (signingKey.length > 64 || size > inner.length - 64) return createHmac('sha256', signingKey).update(toSign, 'utf8').digest();
  let pads = padsByKey.get(signingKey);
  if (!pads) {
    pads = Buffer.alloc(128);
    signingKey.copy(pads, 0);
    signingKey.copy(pads, 64);
    for (let i = 0; i < 64; i++) {
      pads[i] = (pads[i] as number) ^ 0x36;
      pads[64 + i] = (pads[64 + i] as number) ^ 0x5c;
    }
    padsByKey.set(signingKey, pads);
  }
  pads.copy(inner, 0, 0, 64);
  inner.write(toSign, 64, size, 'utf8');
  pads.copy(outer, 0, 64, 128);
  (hash('sha256', inner.subarray(0, 64 + size), 'buffer') as unknown as Buffer).copy(outer, 64);
  return hash('sha256', outer, 'buffer') as unknown as Buffer;
}
