/** Migrations on both dialects: from empty, from the previous release's schema, and several processes at once. */
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql } from 'kysely';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { expect, it } from 'vitest';
import { migrationProvider } from '../../src/store/migrations.ts';
import type { Database } from '../../src/store/schema.ts';
import { taskById } from '../../src/store/tasks-repo.ts';
import { getInstanceById } from '../../src/store/instances-repo.ts';
import { isPostgresUrl } from '../../src/store/store-dialect.ts';
import { instanceRow } from '../helpers/instance-row.ts';
import { describeStore } from './describe-store.ts';

/** The last migration of the release before this one (main before issue 13). */
const PREVIOUS = '0007_clear_data';

/** A bare Kysely on `location`, without openStore's migrations. */
function bare(location: string): Kysely<Database> {
  return isPostgresUrl(location)
    ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: location, max: 2 }) }) })
    : new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteDatabase(location) }) });
}

describeStore('store migrations', (s) => {
  it('from empty: every migration applied, in order, and the tables the repositories use exist', async () => {
    const applied = await new Migrator({ db: s.db, provider: migrationProvider(s.dialect) }).getMigrations();
    expect(applied.every((m) => m.executedAt !== undefined)).toBe(true);
    expect(applied.map((m) => m.name).at(-1)).toBe('0012_first_start');
    const tables = (await s.db.introspection.getTables()).map((t) => t.name);
    for (const t of ['accounts', 'instances', 'instance_tags', 'ports', 'port_quarantine', 'tasks', 'instance_events', 'used_signatures', 'clear_data', 'store_locks', 'service_processes', 'health_leases', 'backups', 'backup_policies', 'restores', 'task_progress', 'cache_analyses', 'analysis_settings']) {
      expect(tables).toContain(t);
    }
  });

  it('from the previous release: its rows survive, generated ids go on, new columns get their defaults', async () => {
    const location = await s.freshLocation();
    const old = bare(location);
    const to = await new Migrator({ db: old, provider: migrationProvider(s.dialect) }).migrateTo(PREVIOUS);
    expect(to.error).toBeUndefined();
    await old.insertInto('accounts').values({ access_key: 'AK1', secret_key: 'S', created_at: 'now' }).execute();
    await old.insertInto('instances').values(instanceRow({ id: 'redis-old', account: 'AK1', created_ms: 1_700_000_000_000 })).execute();
    await sql`INSERT INTO tasks (instance_id, kind, payload, state, attempts, last_error, next_run_ms, created_ms, updated_ms) VALUES ('redis-old', 'create', '{}', 'pending', 0, '', 1, 1, 1)`.execute(old);
    await old.destroy();
    const db = await s.open(location);
    expect((await getInstanceById(db, 'redis-old'))?.created_ms).toBe(1_700_000_000_000);
    expect(await taskById(db, 1)).toMatchObject({ kind: 'create', state: 'pending', lease_owner: '', lease_until_ms: 0 });
    const next = await db
      .insertInto('tasks')
      .values({ instance_id: 'redis-old', kind: 'resize', payload: '{}', state: 'pending', attempts: 0, last_error: '', next_run_ms: 1, created_ms: 1, updated_ms: 1 })
      .returning('id')
      .executeTakeFirstOrThrow();
    expect(next.id).toBe(2);
  });

  it('several processes starting at once on one empty store migrate it once', async () => {
    const location = await s.freshLocation();
    // SQLite: one process per store (the data directory lock), so "at once" is one after another.
    const stores = s.dialect === 'postgres' ? await Promise.all([1, 2, 3].map(() => s.open(location))) : [await s.open(location), await s.open(location)];
    const names = await stores[0]!.selectFrom('kysely_migration' as never).select(sql<string>`name`.as('name')).execute();
    expect(names.length).toBe(new Set(names.map((n) => n.name)).size);
    expect(names.length).toBe((await new Migrator({ db: stores[0]!, provider: migrationProvider(s.dialect) }).getMigrations()).length);
  });
});
