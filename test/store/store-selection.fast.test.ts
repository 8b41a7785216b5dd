/** Which store a process opens, and which store failures are worth a retry (no database server needed). */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { storeUnavailable } from '../../src/domain/domain-error.ts';
import { isPostgresUrl } from '../../src/store/store-dialect.ts';
import { isStoreUnavailable } from '../../src/store/store-unavailable.ts';

describe('store selection', () => {
  it('JCS_DATABASE_URL selects PostgreSQL; absent or empty means the SQLite file', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ JCS_DATABASE_URL: '' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ JCS_DATABASE_URL: 'postgres://u:p@db:5432/jcs' }).databaseUrl).toBe('postgres://u:p@db:5432/jcs');
    expect(isPostgresUrl('postgresql://db/jcs')).toBe(true);
    expect(isPostgresUrl('/var/lib/jcs/jcs-redis.db')).toBe(false);
  });

  it('a URL of another kind is refused without repeating it (it may hold a password)', () => {
    expect(() => loadConfig({ JCS_DATABASE_URL: 'mysql://root:S3cretPw@db/jcs' })).toThrow(/JCS_DATABASE_URL must be a postgres/);
    expect(() => loadConfig({ JCS_DATABASE_URL: 'mysql://root:S3cretPw@db/jcs' })).not.toThrow(/S3cretPw/);
  });

  it('JCS_LEASE_MS: 15 s by default, at least 1 s', () => {
    expect(loadConfig({}).leaseMs).toBe(15_000);
    expect(() => loadConfig({ JCS_LEASE_MS: '500' })).toThrow(/JCS_LEASE_MS must be at least 1000/);
  });
});

describe('store unavailable', () => {
  it('connection failures and server shutdowns are UNAVAILABLE (503), naming no host', () => {
    const cases: unknown[] = [
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ];
    for (const err of cases) {
      expect(isStoreUnavailable(err)).toBe(true);
      const mapped = storeUnavailable(err)!;
      expect([mapped.code, mapped.httpStatus]).toEqual(['UNAVAILABLE', 503]);
      expect(mapped.message).not.toMatch(/10\.0\.0\.5|5432/);
    }
  });

  it('bugs and bad queries are not: they stay internal errors', () => {
    for (const err of [new Error('boom'), Object.assign(new Error('syntax error'), { code: '42601' }), Object.assign(new Error('duplicate key'), { code: '23505' }), null, 'text']) {
      expect(isStoreUnavailable(err)).toBe(false);
      expect(storeUnavailable(err)).toBeUndefined();
    }
  });
});
