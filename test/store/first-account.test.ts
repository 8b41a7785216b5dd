/**
 * The first account of an empty store when several service processes start at once (several pools
 * on PostgreSQL; on SQLite one process's concurrent calls): one account is made, one credentials file
 * names it, and every caller gets that account. Without the `first-start` lock each caller read an
 * empty store and made its own.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ensureBootstrapAccount } from '../../src/domain/accounts/account-service.ts';
import { listAccounts } from '../../src/store/accounts-repo.ts';
import { describeStore } from './describe-store.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describeStore('first account', (s) => {
  it('callers racing on an empty store make one account and one credentials file naming it', async () => {
    const location = await s.freshLocation();
    const pools = s.dialect === 'postgres' ? await Promise.all([1, 2, 3].map(() => s.open(location))) : [await s.open(location)];
    const dir = mkdtempSync(join(tmpdir(), 'jcs-first-account-'));
    dirs.push(dir);
    const results = await Promise.all(pools.flatMap((db) => [ensureBootstrapAccount(db, dir, {}), ensureBootstrapAccount(db, dir, {})]));
    const accounts = await listAccounts(pools[0]!);
    expect(accounts).toHaveLength(1);
    expect(results.filter((r) => r.kind === 'generated')).toHaveLength(1);
    expect(new Set(results.map((r) => r.accessKey))).toEqual(new Set([accounts[0]!.access_key]));
    expect(JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8'))).toEqual({ accessKey: accounts[0]!.access_key, secretKey: accounts[0]!.secret_key });
    expect(readdirSync(dir)).toEqual(['credentials.json']);
    // A later start finds it and writes nothing.
    expect(await ensureBootstrapAccount(pools[0]!, dir, {})).toEqual({ kind: 'existing', accessKey: accounts[0]!.access_key });
  });
});
