/**
 * One store suite, every dialect (STYLE.md habit 7): `describeStore(name, suite)` runs `suite` once on a
 * SQLite file in a temporary directory and once on a throwaway PostgreSQL server (test/helpers/
 * postgres-server.ts: one server per test file, started on first use, removed after the file). Each run
 * gets a fresh, migrated store; `fresh()` opens another empty one (migration tests, second processes).
 *
 * A new repository is covered by a new `describeStore(...)` block (or file) in test/store/ that calls its
 * functions through `s.db`: it then runs on both dialects with no other change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { openStore, type Db } from '../../src/store/open-store.ts';
import type { StoreDialect } from '../../src/store/store-dialect.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.ts';

export interface StoreUnderTest {
  dialect: StoreDialect;
  /** A fresh, migrated store for this describe block (closed after it). */
  db: Db;
  /** Where another empty store can be made: a SQLite file path or a PostgreSQL database URL (not opened). */
  freshLocation(): Promise<string>;
  /** Opens another store at `location` (closed after the block). */
  open(location: string): Promise<Db>;
}

let server: Promise<PostgresServer> | null = null;
let serverUsers = 0;

/** The file's PostgreSQL server, started on first use and removed when its last user is done. */
export function postgresForFile(): Promise<PostgresServer> {
  serverUsers++;
  server ??= startPostgres();
  return server;
}

export async function releasePostgres(): Promise<void> {
  if (--serverUsers > 0 || !server) return;
  const s = await server;
  server = null;
  await s.remove();
}

export function describeStore(name: string, suite: (s: StoreUnderTest) => void, dialects: StoreDialect[] = ['sqlite', 'postgres']): void {
  for (const dialect of dialects) {
    describe(`${name} (${dialect})`, () => {
      const opened: Db[] = [];
      let dir = '';
      let n = 0;
      const s = { dialect } as StoreUnderTest;
      s.freshLocation = async () => (dialect === 'sqlite' ? join(dir, `store-${++n}.db`) : (await server!).createDatabase());
      s.open = async (location) => {
        const db = await openStore(location);
        opened.push(db);
        return db;
      };
      beforeAll(async () => {
        dir = mkdtempSync(join(tmpdir(), 'jcs-store-'));
        if (dialect === 'postgres') await postgresForFile();
        s.db = await s.open(await s.freshLocation());
      });
      afterAll(async () => {
        for (const db of opened) await db.destroy();
        rmSync(dir, { recursive: true, force: true });
        if (dialect === 'postgres') await releasePostgres();
      });
      suite(s);
    });
  }
}
