/**
 * The internal CA made by several callers at once (service processes starting together on one data
 * directory do this through the driver's init; a rotation too): one generation results whose key
 * belongs to its certificate, and every caller sees the same CA.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ensureCa, rotateCa } from '../../src/drivers/local/tls-material.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function keyMatchesCert(gen: number): boolean {
  const key = createPrivateKey(readFileSync(join(dir, 'tls', `ca-${gen}.key`)));
  const cert = new X509Certificate(readFileSync(join(dir, 'tls', `ca-${gen}.crt`)));
  return createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(cert.publicKey.export({ type: 'spki', format: 'der' }));
}

it('eight callers creating the CA at once: one generation, its key and certificate a pair, no temp files left', async () => {
  dir = mkdtempSync(join(tmpdir(), 'jcs-ca-race-'));
  expect(await Promise.all(Array.from({ length: 8 }, () => ensureCa(dir)))).toEqual(Array(8).fill(1));
  expect(keyMatchesCert(1)).toBe(true);
  expect(readFileSync(join(dir, 'tls', 'ca-bundle-1.crt'), 'utf8')).toBe(readFileSync(join(dir, 'tls', 'ca-1.crt'), 'utf8'));
  expect(readdirSync(join(dir, 'tls')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  // A rotation builds on the one CA: generation 2 pairs too and its bundle trusts both.
  expect(await rotateCa(dir)).toBe(2);
  expect(keyMatchesCert(2)).toBe(true);
  expect(readFileSync(join(dir, 'tls', 'ca-bundle-2.crt'), 'utf8')).toBe(readFileSync(join(dir, 'tls', 'ca-2.crt'), 'utf8') + readFileSync(join(dir, 'tls', 'ca-1.crt'), 'utf8'));
});
