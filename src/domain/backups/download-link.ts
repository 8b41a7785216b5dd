import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateKeyFile } from '../../key-file.ts';
import { DomainError } from '../domain-error.ts';

/** JD's describeDownloadUrl links are valid for one hour. */
export const LINK_TTL_MS = 3_600_000;

/** Path of the route that serves a link (api/routes/backup-download-route.ts): outside /v1, it is no JD operation. */
export const DOWNLOAD_PATH = '/backups/download';

/**
 * The key that signs download links: 32 random bytes in `<data dir>/backup-links.key` (mode 0600),
 * made at the first start, so links stay valid across restarts and only this service can make them.
 */
export async function loadOrCreateLinkKey(dataDir: string): Promise<Buffer> {
  return loadOrCreateKeyFile(join(dataDir, 'backup-links.key'), 'old links stop working');
}

function mac(key: Buffer, baseId: string, name: string, expires: number): string {
  return createHmac('sha256', key).update(`${baseId}\n${name}\n${expires}`).digest('hex');
}

/** A link's path and query (the caller puts the scheme and host in front). */
export function signedPath(key: Buffer, baseId: string, name: string, expiresMs: number): string {
  const expires = Math.floor(expiresMs / 1000);
  return `${DOWNLOAD_PATH}/${encodeURIComponent(baseId)}/${encodeURIComponent(name)}?expires=${expires}&signature=${mac(key, baseId, name, expires)}`;
}

/**
 * Checks a link: its signature covers the backup, the file name and the expiry, so an altered link is
 * refused, and an expired one too. Both are HTTP_FORBIDDEN with the reason; nothing about the backup is
 * told before the signature matches.
 */
export function verifyLink(key: Buffer, baseId: string, name: string, expiresText: string, signature: string, nowMs: number): void {
  const expires = /^\d{1,12}$/.test(expiresText) ? Number(expiresText) : NaN;
  const want = Buffer.from(Number.isNaN(expires) ? '' : mac(key, baseId, name, expires), 'hex');
  const got = /^[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  if (want.length === 0 || got.length !== want.length || !timingSafeEqual(got, want)) {
    throw new DomainError('HTTP_FORBIDDEN', 'download link: the signature does not match (the link was altered or is not from this service)');
  }
  if (expires * 1000 < nowMs) {
    throw new DomainError('HTTP_FORBIDDEN', `download link: expired at ${new Date(expires * 1000).toISOString()}; ask describeDownloadUrl for a new one`);
  }
}
