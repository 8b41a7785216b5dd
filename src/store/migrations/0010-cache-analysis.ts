import type { Kysely, Migration } from 'kysely';

/**
 * Progress of long changes (describeTaskProgressList) and cache analysis (big keys, hot keys, command
 * statistics: describeCacheAnalysisList and the bigKey / hotKey families). Three tables of their own,
 * each gone with its instance:
 * - task_progress: what the driver reported moving during a resize task (slots or keys, done of total);
 * - cache_analyses: every analysis run (manual or automatic), its durable scan state and its result;
 * - analysis_settings: the instance's thresholds and automatic analysis time, when the tenant set them.
 */
export const cacheAnalysisMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('task_progress')
      .addColumn('task_id', 'integer', (c) => c.primaryKey().references('tasks.id').onDelete('cascade'))
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('done', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('total', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('unit', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('started_ms', 'bigint', (c) => c.notNull())
      .addColumn('updated_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('cache_analyses')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
      .addColumn('task_id', 'integer', (c) => c.notNull())
      .addColumn('automatic', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('thresholds', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('result', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('stop_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('started_ms', 'bigint', (c) => c.notNull())
      .addColumn('finished_ms', 'bigint', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.createIndex('cache_analyses_by_instance_day').on('cache_analyses').columns(['instance_id', 'day']).execute();
    await db.schema
      .createTable('analysis_settings')
      .addColumn('instance_id', 'text', (c) => c.primaryKey().references('instances.id').onDelete('cascade'))
      .addColumn('analysis_time', 'text', (c) => c.notNull())
      .addColumn('thresholds', 'text', (c) => c.notNull())
      .addColumn('last_auto_day', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
  },
};
