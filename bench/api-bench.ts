/**
 * `npm run bench:api`: signed describeCacheInstance and describeCacheInstances (a page of 100 out of
 * 10,000 seeded instances) against a bare unauthenticated route of the same server, in the same run.
 * The server runs in a child process (the real buildApp over a real SQLite store; the engine is not
 * started because the seeded rows have no processes behind them); wrk drives it, with requests signed
 * here like the SDK signs them (a fresh nonce each). Rounds alternate and medians are printed, with the
 * server's own CPU time per request (which tells whether the server or the load generator was the limit).
 * Two "floor" rows send the same signed requests to routes that only compute the two hashes every
 * signature check needs and answer the same body through the read cache: the most a signed route
 * can reach on this machine before any of our own code runs.
 */
import { randomBytes } from 'node:crypto';
import { PasswordSeal } from '../src/domain/instances/password-seal.ts';
import { type ChildProcess, execFile, execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { FastifyRequest } from 'fastify';
import { buildApp } from '../src/api/build-app.ts';
import { loadConfig } from '../src/config.ts';
import { ResponseCache } from '../src/api/response-cache.ts';
import { Responses } from '../src/api/schemas.ts';
import { cachedSecretLookup, createAccount } from '../src/domain/accounts/account-service.ts';
import { loadClassCatalogue } from '../src/domain/catalogue/instance-class-catalogue.ts';
import { createInstanceService } from '../src/domain/instances/instance-service.ts';
import { ReplayGuard } from '../src/domain/replay-guard.ts';
import { sha256Hex } from '../src/signing/canonical-request.ts';
import { signRequest } from '../src/signing/sign-request.ts';
import { cachedSigningKey, computeSignature, stringToSign } from '../src/signing/signing-key.ts';
import { changeCounter } from '../src/store/change-counter.ts';
import { openStore } from '../src/store/open-store.ts';
import { instanceRow } from '../test/helpers/instance-row.ts';

const AK = 'BENCHAK';
const SK = 'BENCHSK';
const SEEDED = 10_000;
const DURATION_S = Number(process.env.BENCH_DURATION ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Signed requests prepared for a route's first run (later runs get 3× what it needed); a run that uses them all up fails. */
const PRESIGNED = Number(process.env.BENCH_PRESIGNED ?? 200_000);
const LUA = fileURLToPath(new URL('./wrk-presigned.lua', import.meta.url));
let scratch = '';
/** BENCH_ONLY=<regex> runs only the matching routes (the bare route always runs: it is the baseline). */
const ONLY = new RegExp(`^bare$|${process.env.BENCH_ONLY ?? ''}`);

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
          endpoint_port: 100_000 + i,
        });
      });
      await trx.insertInto('instances').values(rows).execute();
    });
  }
  const logger = pino({ level: 'warn' });
  const instances = createInstanceService({
    db,
    passwordSeal: new PasswordSeal(randomBytes(32)),
    catalogue: loadClassCatalogue(['master-slave']),
    config: {
      instancePorts: { from: 6400, to: 7399 },
      quota: 20,
      quotaNodes: 256,
      quotaMemoryMb: 0,
      hostMemoryMb: 1 << 20,
      memoryReserveMb: 0,
      memoryOvercommit: 1,
      advertisedHost: '127.0.0.1',
    },
    logger,
    reserveNodes: () => Promise.resolve({ endpointPort: null }),
    usedMemory: () => undefined,
    nodePromise: (maxmemoryBytes) => maxmemoryBytes,
    notifyEngine: () => undefined,
    now: () => new Date(),
    engineVersion: '7.0',
    ipWhiteListEnforcement: () => ({ enforced: false, reason: 'no driver in the API bench' }),
  });
  // Replay protection as main.ts wires it: signatures of reads written behind to the same store.
  const replays = await ReplayGuard.open({ db, logger });
  // Connection limits and timeouts as main.ts applies them (their per-request bookkeeping is measured too).
  const c = loadConfig({});
  const connections = {
    maxConnections: c.apiMaxConnections,
    maxConnectionsPerIp: c.apiMaxConnectionsPerIp,
    headersTimeoutMs: c.apiHeadersTimeoutMs,
    requestTimeoutMs: c.apiRequestTimeoutMs,
    keepAliveTimeoutMs: c.apiKeepAliveTimeoutMs,
  };
  const deps = { logger, instances, regions: ['cn-north-1'], lookupSecret: cachedSecretLookup(db), replays, connections };
  // Two apps over the same store, the product's as main.ts builds it (describe and list answers cached
  // until the store changes) and one without the read cache, so both paths are measured.
  const app = await buildApp({ ...deps, storeVersion: changeCounter(db) });
  const uncached = await buildApp(deps);
  // The baselines: same server, same hooks where they apply, no signature, no store. `/bare` answers a
  // tiny body; `/bare/describe` and `/bare/list` answer, from memory, exactly the body the signed route
  // answers, so their ratio isolates what the API adds (signature, store, mapping) from payload size.
  const scope = { account: AK, region: 'cn-north-1' };
  const describeBody = { cacheInstance: await instances.describe(scope, 'redis-bench0004242') };
  const listBody = await instances.list({ ...scope, sortDirection: 'desc', offset: 3600, limit: 100, tagFilters: [] });
  app.get('/bare', { config: { public: true } }, async (request) => ({ requestId: request.id, result: { ok: true } }));
  app.get('/bare/describe', { config: { public: true }, schema: { response: Responses.describe } }, async (request) => ({ requestId: request.id, result: describeBody }));
  app.get('/bare/list', { config: { public: true }, schema: { response: Responses.list } }, async (request) => ({ requestId: request.id, result: listBody }));
  // The floor of any signature check: sent the same signed requests as the API routes, these routes
  // only do the two hashes no verifier can skip (SHA-256 of the request made canonical, the HMAC of
  // the string to sign), with the product's own functions, and answer the API route's body through
  // the same read cache. No parsing, no secret lookup, no nonce, no store: what is left between a
  // floor row and its API row is ours.
  const floorKey = cachedSigningKey(SK, '20260101', 'cn-north-1', 'redis', 'JDCLOUD2');
  const floorCache = new ResponseCache(() => 'fixed');
  const hashesOnly = (request: FastifyRequest): string => {
    const h = request.headers;
    const canonical = `GET\n${request.url}\n\ncontent-type:${h['content-type']}\nhost:${h.host}\nx-jdcloud-date:${h['x-jdcloud-date']}\nx-jdcloud-nonce:${h['x-jdcloud-nonce']}\n\ncontent-type;host;x-jdcloud-date;x-jdcloud-nonce\n${sha256Hex('')}`;
    return computeSignature(floorKey, stringToSign('JDCLOUD2', String(h['x-jdcloud-date']), '20260101/cn-north-1/redis/jdcloud2_request', sha256Hex(canonical)));
  };
  // The signature goes into the cache key, so the work cannot be skipped as unused; the key is
  // sliced back to a constant, as the hashes never equal the header.
  const floorKeyOf = (request: FastifyRequest, name: string): string => (hashesOnly(request) === request.headers.authorization ? `${name}!` : name);
  app.get('/bare/floor/describe', { config: { public: true }, schema: { response: Responses.describe } }, async (request, reply) =>
    floorCache.send(request, reply, floorKeyOf(request, 'describe'), async () => describeBody),
  );
  app.get('/bare/floor/list', { config: { public: true }, schema: { response: Responses.list } }, async (request, reply) =>
    floorCache.send(request, reply, floorKeyOf(request, 'list'), async () => listBody),
  );
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const uncachedUrl = await uncached.listen({ host: '127.0.0.1', port: 0 });
  process.send?.({ url, uncachedUrl });
  // The parent asks for this process's CPU time around each run: server µs per request tells whether the
  // server or the load generator was the limit.
  process.on('message', (m) => {
    if (m === 'cpu') process.send?.({ cpu: process.cpuUsage() });
  });
  process.on('disconnect', () => {
    void Promise.all([app.close(), uncached.close()]).then(() => replays.close()).then(() => db.destroy()).then(() => rmSync(dataDir, { recursive: true, force: true })).then(() => process.exit(0));
  });
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Server CPU time per request, in microseconds, and the part of it spent in the kernel. */
  cpuUs: number;
  sysUs: number;
  /** Share of one core the server used during the run. */
  busy: number;
}

function serverCpu(child: ChildProcess): Promise<NodeJS.CpuUsage> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown): void => {
      const cpu = (m as { cpu?: NodeJS.CpuUsage }).cpu;
      if (!cpu) return;
      child.off('message', onMessage);
      resolve(cpu);
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

/**
 * Requests are signed before the timed run (each with its own nonce, as replay protection demands):
 * signing costs ~30 µs, which on a 2-core machine would measure the client instead of the server. The
 * result is raw HTTP/1.1 request text, which wrk sends as it is.
 */
function presign(host: string, path: string, count: number): string[] {
  const [p, q] = path.split('?') as [string, string | undefined];
  return Array.from({ length: count }, () => {
    const headers: Record<string, string> = { 'content-type': 'application/json', host };
    Object.assign(headers, signRequest({ method: 'GET', path: p, query: q ?? '', headers }, { accessKey: AK, secretKey: SK }, { region: 'cn-north-1' }));
    return rawRequest(path, headers);
  });
}

const rawRequest = (path: string, headers: Record<string, string>): string =>
  `GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;

/**
 * One timed run with wrk (C, epoll): at ~10 µs of client CPU per request it leaves the server as the
 * bottleneck, where autocannon (~25-45 µs per request in Node) capped the signed routes at about half
 * of what the bare route reached. Every route, bare ones too, goes through the same Lua script.
 */
async function run(child: ChildProcess, url: string, path: string, signed: boolean, stock = PRESIGNED): Promise<Figures> {
  const host = new URL(url).host;
  const requests = signed ? presign(host, path, stock) : [rawRequest(path, { 'content-type': 'application/json', host })];
  const file = join(scratch, 'requests.bin');
  writeFileSync(file, requests.join('\0'));
  const cpuBefore = await serverCpu(child);
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      'wrk',
      ['-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '--timeout', '10s', '-s', LUA, url, '--', file],
      { maxBuffer: 1 << 20 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
  const cpuAfter = await serverCpu(child);
  const cpu = cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system;
  const sys = cpuAfter.system - cpuBefore.system;
  const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${out}`);
  const w = JSON.parse(line.slice('WRK_JSON '.length)) as { requests: number; durationUs: number; non2xx: number; socketErrors: number; p50Us: number; p99Us: number; exhausted: number };
  if (w.exhausted > 0) throw new Error(`the run used up its ${requests.length} signed requests: raise BENCH_PRESIGNED`);
  return {
    rps: w.requests / (w.durationUs / 1e6),
    p50: w.p50Us / 1000,
    p99: w.p99Us / 1000,
    non2xx: w.non2xx + w.socketErrors,
    cpuUs: cpu / Math.max(1, w.requests),
    sysUs: sys / Math.max(1, w.requests),
    busy: cpu / w.durationUs,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (err) {
    // wrk --version exits 1 after printing its version; only a missing binary is a problem.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      console.error('bench:api needs wrk, the HTTP load generator: apt-get install -y wrk');
      process.exit(1);
    }
  }
  scratch = mkdtempSync(join(tmpdir(), 'jcs-bench-wrk-'));
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : [];
  const child = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--import', 'tsx', ...profile] });
  const urls = await new Promise<{ url: string; uncachedUrl: string }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { url: string; uncachedUrl: string }));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const describePath = '/v1/regions/cn-north-1/cacheInstance/redis-bench0004242';
  const listPath = '/v1/regions/cn-north-1/cacheInstance?pageNumber=37&pageSize=100';
  // [server, path, signed]
  const targets: Record<string, [string, string, boolean]> = {
    bare: [urls.url, '/bare', false],
    'bare, describe body from memory': [urls.url, '/bare/describe', false],
    describeCacheInstance: [urls.url, describePath, true],
    'describeCacheInstance, no read cache': [urls.uncachedUrl, describePath, true],
    'floor: describe hashes only + cached body': [urls.url, '/bare/floor/describe', true],
    'bare, list body from memory': [urls.url, '/bare/list', false],
    'describeCacheInstances (100 of 10,000)': [urls.url, listPath, true],
    'floor: list hashes only + cached body': [urls.url, '/bare/floor/list', true],
    'describeCacheInstances, no read cache': [urls.uncachedUrl, listPath, true],
  };
  const sameBody: Record<string, string> = {
    describeCacheInstance: 'bare, describe body from memory',
    'describeCacheInstance, no read cache': 'bare, describe body from memory',
    'floor: describe hashes only + cached body': 'bare, describe body from memory',
    'floor: list hashes only + cached body': 'bare, list body from memory',
    'describeCacheInstances (100 of 10,000)': 'bare, list body from memory',
    'describeCacheInstances, no read cache': 'bare, list body from memory',
  };
  const rounds: Record<string, Figures[]> = {};
  await run(child, urls.url, '/bare', false); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, [url, path, signed]] of Object.entries(targets).filter(([n]) => ONLY.test(n))) {
      // After the first round, sign 3 times (1.5 ran out when a first round was slowed by a busy machine) what the fastest earlier round of the route would need.
      const peak = Math.max(0, ...(rounds[name] ?? []).map((f) => f.rps));
      const stock = peak > 0 ? Math.ceil(peak * DURATION_S * 3) + 1000 : PRESIGNED;
      (rounds[name] ??= []).push(await run(child, url, path, signed, stock));
    }
  }
  child.disconnect();
  rmSync(scratch, { recursive: true, force: true });
  const bare = median(rounds.bare!.map((f) => f.rps));
  console.log(`\nAPI benchmark: ${ROUNDS} rounds x ${DURATION_S}s, ${CONNECTIONS} connections, medians (machine: 2 cores, shared)`);
  console.log('route'.padEnd(42), 'req/s'.padStart(8), 'p50 ms'.padStart(8), 'p99 ms'.padStart(8), 'non-2xx'.padStart(8), 'ratio'.padStart(7), 'vs same body'.padStart(13), 'server µs/req'.padStart(14), 'of it kernel'.padStart(13), 'server busy'.padStart(12));
  for (const [name, figs] of Object.entries(rounds)) {
    const rps = median(figs.map((f) => f.rps));
    console.log(
      name.padEnd(42),
      rps.toFixed(0).padStart(8),
      median(figs.map((f) => f.p50)).toFixed(2).padStart(8),
      median(figs.map((f) => f.p99)).toFixed(2).padStart(8),
      String(figs.reduce((n, f) => n + f.non2xx, 0)).padStart(8),
      (rps / bare).toFixed(2).padStart(7),
      (sameBody[name] && rounds[sameBody[name]] ? (rps / median(rounds[sameBody[name]]!.map((f) => f.rps))).toFixed(2) : '').padStart(13),
      median(figs.map((f) => f.cpuUs)).toFixed(0).padStart(14),
      median(figs.map((f) => f.sysUs)).toFixed(0).padStart(13),
      `${(median(figs.map((f) => f.busy)) * 100).toFixed(0)}%`.padStart(12),
    );
  }
}

if (process.argv.includes('--server')) await serve();
else await main();
