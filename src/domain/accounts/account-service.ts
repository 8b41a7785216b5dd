import { randomBytes } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '../../store/open-store.ts';
import { deleteAccount, findAccount, insertAccount, insertAccountIfMissing, insertFirstAccount, listAccounts } from '../../store/accounts-repo.ts';

export interface AccessKeyPair {
  accessKey: string;
  secretKey: string;
}

/** A new key pair: `JDC_` + 28 upper-case hex for the access key, 32 upper-case hex for the secret. */
export function generateKeyPair(): AccessKeyPair {
  return {
    accessKey: `JDC_${randomBytes(14).toString('hex').toUpperCase()}`,
    secretKey: randomBytes(16).toString('hex').toUpperCase(),
  };
}

export async function createAccount(db: Db, pair: AccessKeyPair = generateKeyPair()): Promise<AccessKeyPair> {
  await insertAccount(db, { access_key: pair.accessKey, secret_key: pair.secretKey, created_at: new Date().toISOString() });
  return pair;
}

export async function accountSecret(db: Db, accessKey: string): Promise<string | undefined> {
  return (await findAccount(db, accessKey))?.secret_key;
}

/**
 * accountSecret with a short in-memory cache: every signed request needs the secret, and accounts
 * change rarely. `jcs-redis accounts delete` works on the store directly from another process, so
 * entries expire after `ttlMs` (default 2 s): a deleted key stops working within that time.
 */
export function cachedSecretLookup(
  db: Db,
  ttlMs = 2_000,
  now: () => number = Date.now,
): (accessKey: string) => string | undefined | Promise<string | undefined> {
  const cache = new Map<string, { secret: string | undefined; until: number }>();
  const load = async (accessKey: string): Promise<string | undefined> => {
    const secret = await accountSecret(db, accessKey);
    // Unknown keys are cached too (briefly), so a flood of bad keys does not become a flood of queries;
    // the size bound keeps that flood from growing the map without limit.
    if (cache.size >= 10_000) cache.clear();
    cache.set(accessKey, { secret, until: now() + ttlMs });
    return secret;
  };
  // A hit answers synchronously: no promise on the path of every signed request.
  return (accessKey) => {
    const hit = cache.get(accessKey);
    return hit && hit.until > now() ? hit.secret : load(accessKey);
  };
}

export async function listAccountKeys(db: Db): Promise<{ accessKey: string; createdAt: string }[]> {
  return (await listAccounts(db)).map((a) => ({ accessKey: a.access_key, createdAt: a.created_at }));
}

export { deleteAccount };

/**
 * Makes sure an account exists on start: the configured pair (created or its secret updated), or,
 * when none is configured and the store has no account, a generated one written to
 * `<dataDir>/credentials.json` (mode 0600). Returns what it did, for the start-up log line.
 */
export async function ensureBootstrapAccount(
  db: Db,
  dataDir: string,
  configured: Partial<AccessKeyPair>,
): Promise<{ kind: 'configured' | 'generated' | 'existing'; accessKey: string; file?: string }> {
  if (configured.accessKey && configured.secretKey) {
    const existing = await findAccount(db, configured.accessKey);
    // Several service processes may start at once on one PostgreSQL store: the first insert wins.
    if (!existing) await insertAccountIfMissing(db, { access_key: configured.accessKey, secret_key: configured.secretKey, created_at: new Date().toISOString() });
    else if (existing.secret_key !== configured.secretKey) {
      await db.updateTable('accounts').set({ secret_key: configured.secretKey }).where('access_key', '=', configured.accessKey).execute();
    }
    return { kind: 'configured', accessKey: configured.accessKey };
  }
  const accounts = await listAccounts(db);
  if (accounts.length > 0) return { kind: 'existing', accessKey: accounts[0]!.access_key };
  // Processes started together on an empty store: one makes the account (and the file), the others find it.
  const pair = generateKeyPair();
  const file = join(dataDir, 'credentials.json');
  const first = await insertFirstAccount(db, { access_key: pair.accessKey, secret_key: pair.secretKey, created_at: new Date().toISOString() }, async () => {
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(pair, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, file); // whole or not at all, also over a file an interrupted first start left
  });
  return first.created ? { kind: 'generated', accessKey: pair.accessKey, file } : { kind: 'existing', accessKey: first.account.access_key };
}
