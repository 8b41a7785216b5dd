import type { Kysely, Migration } from 'kysely';

/**
 * Several service processes starting at once, and on any hosts (issue 13's remaining gaps):
 * - store_locks `first-start`: held while the first account of an empty store is made, so processes
 *   started together make one (accounts-repo.ts insertFirstAccount).
 * - service_processes.nodes_reach: where the process's driver reaches nodes from (`*` for any process,
 *   else the host and data directory it must share with the others); empty for processes of 0011.
 * - instances.endpoint_host: where tenants connect, as a driver whose nodes any process reaches
 *   (Kubernetes: a Service's name) publishes it; null for the local driver (the advertised host).
 */
export const firstStartMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.insertInto('store_locks' as never).values({ name: 'first-start', taken: 0 } as never).execute();
    await db.schema.alterTable('service_processes').addColumn('nodes_reach', 'text', (c) => c.notNull().defaultTo('')).execute();
    await db.schema.alterTable('instances').addColumn('endpoint_host', 'text').execute();
  },
};
