/**
 * A throwaway PostgreSQL server for one test file: initdb in a temporary directory, started with
 * pg_ctl on a free loopback port (and a Unix socket in that directory), password authentication, fsync
 * off. PostgreSQL refuses to run as root, so the tests (root in CI) run it as the `postgres` user
 * Debian's package creates. Never touches a server the machine may already run. stop() removes it all.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './service-process.ts';

const run = promisify(execFile);
/** Debian's newest installed PostgreSQL (`/usr/lib/postgresql/<major>/bin`), or JCS_TEST_PG_BIN. */
const pgBin = (): string =>
  process.env.JCS_TEST_PG_BIN ??
  join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0] ?? '15', 'bin');
const USER = 'jcs';

export interface PostgresServer {
  port: number;
  /** URL of the `jcs` database (the superuser's own). */
  url: string;
  /** A new, empty database on this server; returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast mode: sessions are ended), leaving its files: start() brings it back. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  remove(): Promise<void>;
}

/** Runs a PostgreSQL binary as the unprivileged `postgres` user when this process is root. */
async function asPostgres(bin: string, args: string[]): Promise<void> {
  const root = process.getuid?.() === 0;
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', join(pgBin(), bin), ...args]] : [join(pgBin(), bin), args];
  await run(file, argv, { timeout: 60_000 });
}

export async function startPostgres(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'jcs-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, uid, Number(gid.trim()));
    chownSync(pwfile, uid, Number(gid.trim()));
  }
  const port = await freePort();
  let databases = 0;
  const urlOf = (db: string): string => `postgres://${USER}:${password}@127.0.0.1:${port}/${db}`;
  const ctl = (action: 'start' | 'stop'): Promise<void> =>
    asPostgres('pg_ctl', [
      '-D',
      data,
      '-w',
      '-t',
      '60',
      '-l',
      join(dir, 'server.log'),
      ...(action === 'start'
        ? ['-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`, 'start']
        : ['-m', 'fast', 'stop']),
    ]);
  try {
    await asPostgres('initdb', ['-D', data, '-U', USER, '--pwfile', pwfile, '--auth', 'scram-sha-256', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale', 'C']);
    await ctl('start');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let running = true;
  return {
    port,
    url: urlOf('postgres'),
    async createDatabase() {
      const name = `t${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: urlOf('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return urlOf(name);
    },
    async stop() {
      if (!running) return;
      await ctl('stop');
      running = false;
    },
    async start() {
      if (running) return;
      await ctl('start');
      running = true;
    },
    async remove() {
      try {
        if (running) await ctl('stop');
      } finally {
        running = false;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
