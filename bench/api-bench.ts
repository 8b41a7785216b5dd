/**
 * `npm run bench:api`: signed describeCacheInstance and describeCacheInstances (a page of 100 out of
 * 10,000 seeded instances) against a bare unauthenticated route of the same server, in the same run.
 * The server runs in a child process (the real buildApp over a real SQLite store; the engine is not
 * started because the seeded rows have no processes behind them); autocannon drives it from here and
 * signs every request like the SDK (fresh nonce each time). Rounds alternate and medians are printed.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pino from 'pino';
import { buildApp } from '../src/api/build-app.ts';
import { Responses } from '../src/api/schemas.ts';
import { cachedSecretLookup, createAccount } from '../src/domain/accounts/account-service.ts';
import { loadClassCatalogue } from '../src/domain/catalogue/instance-class-catalogue.ts';
import { createInstanceService } from '../src/domain/instances/instance-service.ts';
import type { Driver } from '../src/drivers/driver.ts';
import { NonceCache } from '../src/signing/nonce-cache.ts';
import { signRequest } from '../src/signing/sign-request.ts';
import { openStore } from '../src/store/open-store.ts';
import { instanceRow } from '../test/helpers/instance-row.ts';

const AK = 'BENCHAK';
const SK = 'BENCHSK';
const SEEDED = 10_000;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 16;
const PRESIGNED = Number(process.env.BENCH_PRESIGNED ?? 60_000);

async function serve(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jcs-bench-api-'));
  const db = await openStore(join(dataDir, 'jcs-redis.db'));
  await createAccount(db, { accessKey: AK, secretKey: SK });
  const now = Date.now();
  for (let start = 0; start < SEEDED; start += 500) {
    await db.transaction().execute(async (trx) => {
      const rows = Array.from({ length: Math.min(500, SEEDED - start) }, (_, k) => {
        const i = start + k;
        return instanceRow({
          id: `redis-bench${String(i).padStart(7, '0')}`,
          account: AK,
          name: `bench_${i}`,
          status: 'running',
          created_ms: now + i,
        });
      });
      await trx.insertInto('instances').values(rows).execute();
      await trx
        .insertInto('ports')
        .values(rows.map((r, k) => ({ port: 100_000 + start + k, instance_id: r.id, role: 's0-master' })))
        .execute();
    });
  }
  const unused = new Proxy({} as Driver, {
    get: (_t, prop) => (prop === 'topologies' ? ['master-slave'] : () => Promise.reject(new Error('no driver in the API bench'))),
  });
  const logger = pino({ level: 'warn' });
  const instances = createInstanceService({
    db,
    catalogue: loadClassCatalogue(['master-slave']),
    config: { instancePorts: { from: 6400, to: 7399 }, quota: 20, advertisedHost: '127.0.0.1' },
    logger,
    driver: unused,
    notifyEngine: () => undefined,
    now: () => new Date(),
    engineVersion: '7.0',
  });
  const app = await buildApp({
    logger,
    instances,
    regions: ['cn-north-1'],
    lookupSecret: cachedSecretLookup(db),
    nonces: new NonceCache(),
  });
  // The baselines: same server, same hooks where they apply, no signature, no store. `/bare` answers a
  // tiny body; `/bare/describe` and `/bare/list` answer, from memory, exactly the body the signed route
  // answers, so their ratio isolates what the API adds (signature, store, mapping) from payload size.
  const scope = { account: AK, region: 'cn-north-1' };
  const describeBody = { cacheInstance: await instances.describe(scope, 'redis-bench0004242') };
  const listBody = await instances.list({ ...scope, sortDirection: 'desc', offset: 3600, limit: 100, tagFilters: [] });
  app.get('/bare', { config: { public: true } }, async (request) => ({ requestId: request.id, result: { ok: true } }));
  app.get('/bare/describe', { config: { public: true }, schema: { response: Responses.describe } }, async (request) => ({ requestId: request.id, result: describeBody }));
  app.get('/bare/list', { config: { public: true }, schema: { response: Responses.list } }, async (request) => ({ requestId: request.id, result: listBody }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url });
  process.on('disconnect', () => {
    void app.close().then(() => db.destroy()).then(() => rmSync(dataDir, { recursive: true, force: true })).then(() => process.exit(0));
  });
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
}

/**
 * Signing costs the load generator ~50 µs per request, which on a 2-core machine would measure the
 * client instead of the server. So requests are signed before the timed run (each with its own nonce,
 * as replay protection demands) and the run only pops them; past the stock it signs live.
 */
function presign(host: string, path: string, count: number): Record<string, string>[] {
  const [p, q] = path.split('?') as [string, string | undefined];
  return Array.from({ length: count }, () => {
    const headers: Record<string, string> = { 'content-type': 'application/json', host };
    return Object.assign(headers, signRequest({ method: 'GET', path: p, query: q ?? '', headers }, { accessKey: AK, secretKey: SK }, { region: 'cn-north-1' }));
  });
}

async function run(url: string, path: string, signed: boolean): Promise<Figures> {
  const host = new URL(url).host;
  const stock = signed ? presign(host, path, PRESIGNED) : [];
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    requests: [
      {
        method: 'GET',
        path,
        setupRequest: (req: autocannon.Request) => {
          const headers = signed ? (stock.pop() ?? presign(host, path, 1)[0]!) : { 'content-type': 'application/json', host };
          return { ...req, headers };
        },
      },
    ],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--import', 'tsx', ...profile] });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const targets = {
    bare: '/bare',
    'bare, describe body from memory': '/bare/describe',
    describeCacheInstance: '/v1/regions/cn-north-1/cacheInstance/redis-bench0004242',
    'bare, list body from memory': '/bare/list',
    'describeCacheInstances (100 of 10,000)': '/v1/regions/cn-north-1/cacheInstance?pageNumber=37&pageSize=100',
  } as const;
  const sameBody: Record<string, string> = {
    describeCacheInstance: 'bare, describe body from memory',
    'describeCacheInstances (100 of 10,000)': 'bare, list body from memory',
  };
  const rounds: Record<string, Figures[]> = {};
  await run(url, targets.bare, false); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, path] of Object.entries(targets)) {
      (rounds[name] ??= []).push(await run(url, path, !path.startsWith('/bare')));
    }
  }
  child.disconnect();
  const bare = median(rounds.bare!.map((f) => f.rps));
  console.log(`\nAPI benchmark: ${ROUNDS} rounds x ${DURATION_S}s, ${CONNECTIONS} connections, medians (machine: 2 cores, shared)`);
  console.log('route'.padEnd(42), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'non-2xx'.padStart(8), 'ratio'.padStart(7), 'vs same body'.padStart(13));
  for (const [name, figs] of Object.entries(rounds)) {
    const rps = median(figs.map((f) => f.rps));
    console.log(
      name.padEnd(42),
      rps.toFixed(0).padStart(8),
      median(figs.map((f) => f.p50)).toFixed(1).padStart(8),
      median(figs.map((f) => f.p99)).toFixed(1).padStart(8),
      String(figs.reduce((n, f) => n + f.non2xx, 0)).padStart(8),
      (rps / bare).toFixed(2).padStart(7),
      (sameBody[name] ? (rps / median(rounds[sameBody[name]]!.map((f) => f.rps))).toFixed(2) : '').padStart(13),
    );
  }
}

if (process.argv.includes('--server')) await serve();
else await main();
