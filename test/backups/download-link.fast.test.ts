/** Download links: signed over backup, file and expiry; altered or expired ones refused; the key persists. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadOrCreateLinkKey, signedPath, verifyLink } from '../../src/domain/backups/download-link.ts';

const KEY = Buffer.alloc(32, 7);
const NOW = Date.parse('2026-12-03T12:00:00Z');

function parts(path: string): { baseId: string; name: string; expires: string; signature: string } {
  const url = new URL(path, 'http://x');
  const [, , , baseId, name] = url.pathname.split('/');
  return { baseId: decodeURIComponent(baseId!), name: decodeURIComponent(name!), expires: url.searchParams.get('expires')!, signature: url.searchParams.get('signature')! };
}

describe('download links', () => {
  it('verify until they expire, then say so', () => {
    const p = parts(signedPath(KEY, 'bk-1', 'f_shard0.rdb', NOW + 3_600_000));
    expect(() => verifyLink(KEY, p.baseId, p.name, p.expires, p.signature, NOW + 3_599_000)).not.toThrow();
    expect(() => verifyLink(KEY, p.baseId, p.name, p.expires, p.signature, NOW + 3_601_000)).toThrow(/expired at 2026-12-03T13:00:00.000Z/);
  });

  it('refuse any altered part, and another key', () => {
    const p = parts(signedPath(KEY, 'bk-1', 'f_shard0.rdb', NOW + 3_600_000));
    const cases = [
      [p.baseId + 'x', p.name, p.expires, p.signature],
      [p.baseId, 'f_shard1.rdb', p.expires, p.signature],
      [p.baseId, p.name, String(Number(p.expires) + 1), p.signature],
      [p.baseId, p.name, p.expires, p.signature.replace(/^./, (c) => (c === '0' ? '1' : '0'))],
      [p.baseId, p.name, p.expires, ''],
      [p.baseId, p.name, 'soon', p.signature],
    ] as const;
    for (const [b, n, e, s] of cases) expect(() => verifyLink(KEY, b, n, e, s, NOW), `${b} ${n} ${e} ${s}`).toThrow(/signature does not match/);
    expect(() => verifyLink(Buffer.alloc(32, 8), p.baseId, p.name, p.expires, p.signature, NOW)).toThrow(/signature does not match/);
  });

  it('are signed with a key kept (mode 0600) across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jcs-link-key-'));
    try {
      const first = await loadOrCreateLinkKey(dir);
      expect(await loadOrCreateLinkKey(dir)).toEqual(first);
      expect(statSync(join(dir, 'backup-links.key')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
