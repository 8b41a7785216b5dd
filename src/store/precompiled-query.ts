import { CompiledQuery, type Compilable, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/**
 * A query built and compiled once per database, then run with new parameters. Building and compiling
 * a join with a subquery costs Kysely about twice what SQLite needs to answer it, which matters only on
 * the hottest reads (describeCacheInstance). `sentinels` are unique placeholder values, one per
 * argument, used to find where each argument lands in the compiled parameter list; the SQL stays the
 * dialect's own, so this works on every dialect.
 */
export function precompiled<A extends string[], R>(
  build: (db: Q, ...args: A) => Compilable<R>,
  sentinels: A,
): (db: Q, ...args: A) => Promise<R[]> {
  const cache = new WeakMap<object, { sql: string; parameters: readonly unknown[]; positions: number[] }>();
  return async (db, ...args) => {
    let entry = cache.get(db);
    if (!entry) {
      const compiled = build(db, ...sentinels).compile();
      const positions = sentinels.map((s) => compiled.parameters.indexOf(s));
      if (positions.some((p, i) => p < 0 || compiled.parameters.lastIndexOf(sentinels[i]) !== p)) {
        throw new Error('precompiled: every sentinel must appear exactly once among the parameters');
      }
      entry = { sql: compiled.sql, parameters: compiled.parameters, positions };
      cache.set(db, entry);
    }
    const parameters = [...entry.parameters];
    entry.positions.forEach((pos, i) => (parameters[pos] = args[i]));
    return (await db.executeQuery(CompiledQuery.raw(entry.sql, parameters))).rows as R[];
  };
}
