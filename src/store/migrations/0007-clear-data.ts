import type { Kysely, Migration } from 'kysely';

/**
 * The latest data purge of each instance (startClearData): what describeClearData shows, and where the
 * engine's purge task stands (per-shard cursors, the batch being deleted), so a purge resumed after a
 * crash goes on from there. A table of its own, gone with its instance.
 */
export const clearDataMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('clear_data')
      .addColumn('instance_id', 'text', (c) => c.primaryKey().references('instances.id').onDelete('cascade'))
      .addColumn('task_id', 'integer', (c) => c.notNull())
      .addColumn('clear_type', 'text', (c) => c.notNull())
      .addColumn('key_pattern', 'text', (c) => c.notNull())
      .addColumn('key_filter', 'text', (c) => c.notNull())
      .addColumn('qps_limit', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('effect_keys', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('stop_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('started_ms', 'bigint', (c) => c.notNull())
      .addColumn('transition_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};
