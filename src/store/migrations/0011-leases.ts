import type { Kysely, Migration } from 'kysely';

/**
 * What several service processes on one PostgreSQL store coordinate with (issue 13); harmless on the
 * one-process SQLite store. Nothing home-made: row locks and conditional updates do the work.
 * - tasks.lease_owner / lease_until_ms: the process running a task, until when (tasks-repo.ts claims).
 * - store_locks: one row per rule that must see every other writer's commit first (admission control
 *   and port reservation lock `capacity` for the rest of their transaction).
 * - service_processes: who is alive (a heartbeat), so health checks are shared out fairly.
 * - health_leases: which process observes which instance, until when (leases-repo.ts).
 */
export const leasesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('tasks').addColumn('lease_owner', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable('tasks').addColumn('lease_until_ms', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    await db.schema
      .createTable('store_locks')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('taken', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.insertInto('store_locks' as never).values({ name: 'capacity', taken: 0 } as never).execute();
    await db.schema
      .createTable('service_processes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('started_ms', 'bigint', (c) => c.notNull())
      .addColumn('heartbeat_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('health_leases')
      .addColumn('instance_id', 'text', (c) => c.primaryKey())
      .addColumn('owner', 'text', (c) => c.notNull())
      .addColumn('until_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('health_leases_owner').on('health_leases').columns(['owner', 'until_ms']).execute();
  },
};
