/**
 * The very first start of several service processes at once, as real processes started at the same
 * moment on an empty PostgreSQL database and an empty data directory (no JCS_ACCESS_KEY, so the service
 * makes the first account itself): exactly one account, one credentials file naming it, one internal
 * CA whose key belongs to its certificate, one download-link key; both processes come up and accept the
 * same credentials. Several rounds, each on a new database and directory. On SQLite the same start makes
 * one process serve and the other refuse (the data directory's lock), with the same single outcome.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.ts';
import { startPostgres, type PostgresServer } from '../helpers/postgres-server.ts';
import { sdkClient } from '../helpers/sdk-client.ts';
import { freePort, ServiceProcess } from '../helpers/service-process.ts';

const ROUNDS = 3;
/** No configured account: the first start makes one and writes credentials.json. */
const UNCONFIGURED = { JCS_ACCESS_KEY: '', JCS_SECRET_KEY: '' };
let pg: PostgresServer;
const dirs: string[] = [];
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  pg = await startPostgres();
});

afterAll(async () => {
  for (const p of procs) await p.stop('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await pg?.remove();
});

/** Two service processes on one data directory (and database, when `env` names one), started at the same moment. */
async function startTogether(env: Record<string, string>): Promise<{ dir: string; pair: ServiceProcess[]; started: PromiseSettledResult<void>[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'jcs-first-'));
  dirs.push(dir);
  const pair = [new ServiceProcess(dir, await freePort(), '18920-18939', { ...UNCONFIGURED, ...env }), new ServiceProcess(dir, await freePort(), '18920-18939', { ...UNCONFIGURED, ...env })];
  procs.push(...pair);
  return { dir, pair, started: await Promise.allSettled(pair.map((p) => p.start())) };
}

/** What the data directory holds after a first start: one CA whose key signs for its certificate, one link key, the credentials. */
function checkDataDir(dir: string): { accessKey: string; secretKey: string } {
  const tls = join(dir, 'tls');
  expect(readFileSync(join(tls, 'generation'), 'utf8')).toBe('1\n');
  const key = createPrivateKey(readFileSync(join(tls, 'ca-1.key')));
  const cert = new X509Certificate(readFileSync(join(tls, 'ca-1.crt')));
  expect(createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(cert.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
  expect(readFileSync(join(tls, 'ca-bundle-1.crt'), 'utf8')).toBe(readFileSync(join(tls, 'ca-1.crt'), 'utf8'));
  expect(readFileSync(join(dir, 'backup-links.key')).length).toBe(32);
  // No temp file of a losing writer is left behind.
  expect([...readdirSync(dir), ...readdirSync(tls)].filter((n) => n.endsWith('.tmp'))).toEqual([]);
  return JSON.parse(readFileSync(join(dir, 'credentials.json'), 'utf8')) as { accessKey: string; secretKey: string };
}

describe('first start of two service processes at once', () => {
  it(`PostgreSQL: one account, one CA, both processes serve with them (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const url = await pg.createDatabase();
      // After the first round the database is migrated beforehand: the migrator's lock then does not
      // space the two starts apart, and both reach the first account and the CA together.
      if (round > 0) await (await openStore(url)).destroy();
      const { dir, pair, started } = await startTogether({ JCS_DATABASE_URL: url });
      expect(started.map((s) => s.status), pair.map((p) => p.output).join('\n')).toEqual(['fulfilled', 'fulfilled']);
      const creds = checkDataDir(dir);
      const db = await openStore(url);
      try {
        expect(await db.selectFrom('accounts').select(['access_key', 'secret_key']).execute()).toEqual([{ access_key: creds.accessKey, secret_key: creds.secretKey }]);
      } finally {
        await db.destroy();
      }
      // Exactly one process says it made the account; both accept the credentials in the file.
      expect(pair.filter((p) => p.output.includes(`created account ${creds.accessKey}`))).toHaveLength(1);
      for (const p of pair) expect((await sdkClient(p.url, creds.accessKey, creds.secretKey).describeCacheInstances({})).result.totalCount).toBe(0);
      for (const p of pair) expect(await p.stop('SIGTERM')).toBe(0);
    }
  });

  it('SQLite: one process serves, the other refuses on the lock, and the one outcome is whole', async () => {
    const { dir, pair, started } = await startTogether({});
    expect(started.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = started.find((s): s is PromiseRejectedResult => s.status === 'rejected')!;
    expect(String(loser.reason)).toMatch(/another jcs-redis service process already uses the data directory/);
    const creds = checkDataDir(dir);
    expect(existsSync(join(dir, 'jcs-redis.db'))).toBe(true);
    const winner = pair[started.findIndex((s) => s.status === 'fulfilled')]!;
    expect((await sdkClient(winner.url, creds.accessKey, creds.secretKey).describeCacheInstances({})).result.totalCount).toBe(0);
    expect(await winner.stop('SIGTERM')).toBe(0);
  });
});
