import type { ColumnDataType, ColumnDefinitionBuilder } from 'kysely';
import type { StoreDialect } from '../store-dialect.ts';

/**
 * A generated integer id column, the one column type the dialects spell differently: SQLite's
 * `integer primary key autoincrement` (what stores created before PostgreSQL support have), PostgreSQL's
 * `bigserial primary key` (read back as a number, postgres/open-postgres-store.ts). Use it as
 * `.addColumn('id', ...serialId(dialect))` in a migration built for a dialect (migrations.ts).
 */
export const serialId = (dialect: StoreDialect): [ColumnDataType, (c: ColumnDefinitionBuilder) => ColumnDefinitionBuilder] =>
  dialect === 'postgres' ? ['bigserial', (c) => c.primaryKey()] : ['integer', (c) => c.primaryKey().autoIncrement()];
