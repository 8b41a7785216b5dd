/**
 * The kept tenant password (password-seal.ts): sealed per instance under the data directory's key, so a
 * database copy alone reveals nothing and a sealed value does not open for another instance, another
 * key, or after any change; the key file is made once, 0600, the same for processes starting together.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isSealed, PasswordSeal } from '../../src/domain/instances/password-seal.ts';

const dir = mkdtempSync(join(tmpdir(), 'jcs-seal-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PasswordSeal', () => {
  const seal = new PasswordSeal(Buffer.alloc(32, 1));

  it('opens what it sealed for the same instance, and the sealed text does not contain the password', () => {
    const sealed = seal.seal('redis-abc', 'Pr0xyPass1');
    expect(isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('Pr0xyPass1');
    expect(Buffer.from(sealed.slice(6), 'base64url').includes(Buffer.from('Pr0xyPass1'))).toBe(false);
    expect(seal.open('redis-abc', sealed)).toBe('Pr0xyPass1');
    // A fresh IV each time: two seals of one password differ.
    expect(seal.seal('redis-abc', 'Pr0xyPass1')).not.toBe(sealed);
  });

  it('refuses a value moved to another instance, sealed under another key, or altered', () => {
    const sealed = seal.seal('redis-abc', 'Pr0xyPass1');
    expect(() => seal.open('redis-xyz', sealed)).toThrow(/sealed password of redis-xyz does not open/);
    expect(() => new PasswordSeal(Buffer.alloc(32, 2)).open('redis-abc', sealed)).toThrow(/does not open/);
    const raw = Buffer.from(sealed.slice(6), 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(() => seal.open('redis-abc', `seal1:${raw.toString('base64url')}`)).toThrow(/does not open/);
  });

  it('returns a password kept in clear before sealing (proxy clusters of older versions) as it is', () => {
    expect(isSealed('Pr0xyPass1')).toBe(false);
    expect(seal.open('redis-abc', 'Pr0xyPass1')).toBe('Pr0xyPass1');
  });

  it('makes one key file, mode 0600, and every process starting at once gets the same key', async () => {
    const seals = await Promise.all(Array.from({ length: 8 }, () => PasswordSeal.ofDataDir(dir)));
    expect(statSync(join(dir, 'password-seal.key')).mode & 0o777).toBe(0o600);
    const sealed = seals[0]!.seal('redis-abc', 'Pr0xyPass1');
    for (const s of seals) expect(s.open('redis-abc', sealed)).toBe('Pr0xyPass1');
    // And after a restart.
    expect((await PasswordSeal.ofDataDir(dir)).open('redis-abc', sealed)).toBe('Pr0xyPass1');
  });
});
