import type { Kysely, Migration } from 'kysely';

/**
 * Backups (createBackup and the schedule), each instance's backup policy, and the restore in progress.
 * `backups` has no foreign key to `instances`: a backup outlives its instance for the retention period.
 * The unique (instance_id, auto_day) index makes a scheduled backup happen once per chosen day, however
 * many service processes or restarts try (manual backups leave auto_day null, which never collides).
 */
export const backupsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('backups')
      .addColumn('base_id', 'text', (c) => c.primaryKey())
      .addColumn('account', 'text', (c) => c.notNull())
      .addColumn('region', 'text', (c) => c.notNull())
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('file_name', 'text', (c) => c.notNull())
      .addColumn('backup_type', 'integer', (c) => c.notNull())
      .addColumn('status', 'integer', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('start_ms', 'bigint', (c) => c.notNull())
      .addColumn('end_ms', 'bigint')
      .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('shard_num', 'integer', (c) => c.notNull())
      .addColumn('shard_memory_mb', 'integer', (c) => c.notNull())
      .addColumn('instance_type', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('data_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('files', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('task_id', 'integer', (c) => c.notNull())
      .addColumn('auto_day', 'text')
      .execute();
    await db.schema.createIndex('backups_instance_day').on('backups').columns(['instance_id', 'auto_day']).unique().execute();
    await db.schema.createIndex('backups_account').on('backups').columns(['account', 'instance_id', 'start_ms']).execute();
    await db.schema
      .createTable('backup_policies')
      .addColumn('instance_id', 'text', (c) => c.primaryKey().references('instances.id').onDelete('cascade'))
      .addColumn('auto_backup', 'integer', (c) => c.notNull())
      .addColumn('backup_time', 'text', (c) => c.notNull())
      .addColumn('backup_period', 'text', (c) => c.notNull())
      .addColumn('updated_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('restores')
      .addColumn('instance_id', 'text', (c) => c.primaryKey().references('instances.id').onDelete('cascade'))
      .addColumn('task_id', 'integer', (c) => c.notNull())
      .addColumn('base_id', 'text', (c) => c.notNull())
      .addColumn('phase', 'text', (c) => c.notNull())
      .addColumn('started_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};
