import type { Kysely, Migration } from 'kysely';

/**
 * The tenant's password in clear, for proxy-cluster instances only (null for every other instance and for
 * password-free ones): twemproxy's `redis_auth` compares passwords in clear, so the proxy's conf needs it
 * and the engine must be able to write that conf again after a crash. Kept with the instance row (the
 * driver's spec is built from that one row); never shown in an answer or a log (see docs/security.md).
 */
export const proxyPasswordMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('instances').addColumn('proxy_password', 'text').execute();
  },
};
