import type { Kysely, Migration } from 'kysely';

/**
 * What a tenant sets on a running instance (issue 16): Redis parameters, extra disabled commands, Redis
 * accounts. Columns of the instance row, not tables of their own: the
 * engine builds the driver's spec from that one row, so a change and the spec it yields are read together.
 * Every existing instance keeps what it runs today.
 */
export const tenantSettingsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // JSON object, redis.conf name → value, of the parameters the tenant changed (modifyInstanceConfig).
    await db.schema.alterTable('instances').addColumn('redis_config', 'text', (c) => c.notNull().defaultTo('{}')).execute();
    // JSON array of {command, disableTime} (setDisableCommands), command in upper case.
    await db.schema.alterTable('instances').addColumn('disabled_commands', 'text', (c) => c.notNull().defaultTo('[]')).execute();
    // JSON array of {name, passwordSha256, privilege, description}: never a clear password.
    await db.schema.alterTable('instances').addColumn('redis_accounts', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  },
};
