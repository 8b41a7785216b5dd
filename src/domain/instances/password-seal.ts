/**
 * The tenant's password, kept sealed. Redis checks a hash (`#<sha256>` ACL rules), but twemproxy compares
 * the password in clear (`redis_auth`), so an instance that is, or may become, a proxy cluster needs it
 * back: a type change from master-slave or native cluster builds proxies. The store holds it sealed with
 * AES-256-GCM under a key in the data directory (`password-seal.key`, 0600), bound to the instance id, so
 * a copy of the database alone (a PostgreSQL dump, a backup of it) reveals no password, and a sealed value
 * moved to another instance's row does not open.
 *
 * Rows written before sealing hold a proxy cluster's password in clear: `open` still returns those.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateKeyFile } from '../../key-file.ts';

const PREFIX = 'seal1:';

/** Whether a stored value is sealed (not a proxy cluster's password kept in clear before sealing). */
export const isSealed = (stored: string): boolean => stored.startsWith(PREFIX);

export class PasswordSeal {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('a password seal key has 32 bytes');
  }

  /** The seal of `<data dir>/password-seal.key`, made at the first start. */
  static async ofDataDir(dataDir: string): Promise<PasswordSeal> {
    return new PasswordSeal(await loadOrCreateKeyFile(join(dataDir, 'password-seal.key'), 'passwords kept for proxies can no longer be read'));
  }

  seal(instanceId: string, password: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(instanceId));
    const body = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  }

  /** The password in clear; throws when the value was altered, sealed for another instance or another key. */
  open(instanceId: string, stored: string): string {
    if (!isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12)).setAAD(Buffer.from(instanceId));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`the sealed password of ${instanceId} does not open with this data directory's password-seal.key`);
    }
  }
}
