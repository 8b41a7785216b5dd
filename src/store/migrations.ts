import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { tenantSettingsMigration } from './migrations/0006-tenant-settings.ts';
import { clearDataMigration } from './migrations/0007-clear-data.ts';
import { leasesMigration } from './migrations/0011-leases.ts';
import { firstStartMigration } from './migrations/0012-first-start.ts';
import { serialId } from './migrations/serial-id.ts';
import type { StoreDialect } from './store-dialect.ts';
import { backupsMigration } from './migrations/0008-backups.ts';
import { proxyPasswordMigration } from './migrations/0009-proxy-password.ts';
import { cacheAnalysisMigration } from './migrations/0010-cache-analysis.ts';

/**
 * Versioned migrations, kept in code so `npm start` needs no migration files on disk. Append only:
 * a landed migration is never edited (0001 and 0004 only learnt serialId, which gives SQLite the same
 * schema as before). Types are portable between SQLite and PostgreSQL.
 */
const migrations = (dialect: StoreDialect): Record<string, Migration> => ({
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('access_key', 'text', (c) => c.primaryKey())
        .addColumn('secret_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account', 'text', (c) => c.notNull().references('accounts.access_key'))
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('instance_class', 'text', (c) => c.notNull())
        .addColumn('instance_type', 'text', (c) => c.notNull())
        .addColumn('redis_version', 'text', (c) => c.notNull())
        .addColumn('shard_number', 'integer', (c) => c.notNull())
        .addColumn('memory_mb_per_shard', 'integer', (c) => c.notNull())
        .addColumn('max_connections', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('password_sha256', 'text')
        .addColumn('az_master', 'text', (c) => c.notNull())
        .addColumn('az_slave', 'text', (c) => c.notNull())
        .addColumn('vpc_id', 'text', (c) => c.notNull())
        .addColumn('subnet_id', 'text', (c) => c.notNull())
        .addColumn('ipv6_on', 'integer', (c) => c.notNull())
        .addColumn('db_num', 'integer', (c) => c.notNull())
        .addColumn('maxmemory_policy', 'text', (c) => c.notNull())
        .addColumn('charge_mode', 'text', (c) => c.notNull())
        .addColumn('charge_unit', 'text')
        .addColumn('charge_duration', 'integer')
        .addColumn('auto_renew', 'integer', (c) => c.notNull())
        .addColumn('charge_start_time', 'text', (c) => c.notNull())
        .addColumn('charge_expired_time', 'text')
        .addColumn('resource_group_id', 'text', (c) => c.notNull())
        .addColumn('order_num', 'text', (c) => c.notNull())
        .addColumn('buy_id', 'text', (c) => c.notNull())
        .addColumn('create_time', 'text', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('instances_account_region')
        .on('instances')
        .columns(['account', 'region', 'created_ms', 'id'])
        .execute();
      await db.schema
        .createTable('instance_tags')
        .addColumn('instance_id', 'text', (c) => c.notNull().references('instances.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instance_tags_key').on('instance_tags').columns(['key', 'value']).execute();
      await db.schema.createIndex('instance_tags_instance').on('instance_tags').column('instance_id').execute();
      await db.schema
        .createTable('ports')
        .addColumn('port', 'integer', (c) => c.primaryKey())
        .addColumn('instance_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ports_instance').on('ports').column('instance_id').execute();
      await db.schema
        .createTable('tasks')
        .addColumn('id', ...serialId(dialect))
        .addColumn('instance_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('next_run_ms', 'bigint', (c) => c.notNull())
        .addColumn('created_ms', 'bigint', (c) => c.notNull())
        .addColumn('updated_ms', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tasks_state').on('tasks').columns(['state', 'instance_id']).execute();
    },
  },
  '0002_port_quarantine': {
    async up(db: Kysely<unknown>) {
      // A released port is handed to no instance until `until_ms`: a stale client of a deleted instance
      // must not end up talking to another tenant's new instance on the same port.
      await db.schema
        .createTable('port_quarantine')
        .addColumn('port', 'integer', (c) => c.primaryKey())
        .addColumn('until_ms', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0003_ip_white_list': {
    async up(db: Kysely<unknown>) {
      // JSON array of IPv4 CIDRs; every existing instance keeps admitting anyone, as before.
      await db.schema
        .alterTable('instances')
        .addColumn('ip_white_list', 'text', (c) => c.notNull().defaultTo('["0.0.0.0/0"]'))
        .execute();
    },
  },
  '0004_driver_owned_nodes': {
    async up(db: Kysely<unknown>) {
      // The driver reserves its nodes' ports and reports the endpoint; the domain keeps only the
      // endpoint's port (for describe) and the port a create asked for.
      await db.schema.alterTable('instances').addColumn('endpoint_port', 'integer').execute();
      await db.schema.alterTable('instances').addColumn('requested_port', 'integer').execute();
      await sql`UPDATE instances SET endpoint_port = (SELECT p.port FROM ports p WHERE p.instance_id = instances.id AND p.role = 's0-master')`.execute(db);
      // Port roles carry the topology they belong to, so a type change can hold both sets at once.
      await sql`UPDATE ports SET role = 'old-' || substr(role, 9) WHERE role LIKE 'retired-%'`.execute(db);
      await sql`UPDATE ports SET role = (SELECT CASE i.instance_type WHEN 'native-cluster' THEN 'nc-' ELSE 'ms-' END FROM instances i WHERE i.id = ports.instance_id) || role WHERE role LIKE 's%'`.execute(db);
      await db.schema
        .createTable('instance_events')
        .addColumn('id', ...serialId(dialect))
        .addColumn('instance_id', 'text', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('instance_events_instance').on('instance_events').columns(['instance_id', 'id']).execute();
    },
  },
  '0005_used_signatures': {
    // Replay protection that survives a restart (domain/replay-guard.ts): a signature prefix of every
    // accepted request until the request would fail the clock-skew check anyway. The key starts with
    // the expiry: a signature fixes its request's date and so its expiry, so the pair is unique exactly
    // when the signature is, and rows arrive in about key order (appends, not random inserts: at 200,000
    // rows a signature-first key cost 55 µs a row, this one 1.7 µs). Pruning is a range delete on it.
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('used_signatures')
        .addColumn('expires_ms', 'bigint', (c) => c.notNull())
        .addColumn('signature', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('used_signatures_pk', ['expires_ms', 'signature'])
        .execute();
    },
  },
  '0006_tenant_settings': tenantSettingsMigration,
  '0007_clear_data': clearDataMigration,
  '0008_backups': backupsMigration,
  '0009_proxy_password': proxyPasswordMigration,
  '0010_cache_analysis': cacheAnalysisMigration,
  '0011_leases': leasesMigration,
  '0012_first_start': firstStartMigration,
});

/** The migrations for a store of `dialect` (they differ only in serialId). */
export const migrationProvider = (dialect: StoreDialect): MigrationProvider => ({
  getMigrations: () => Promise.resolve(migrations(dialect)),
});
