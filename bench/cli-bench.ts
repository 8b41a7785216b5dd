/**
 * `npm run bench:cli`: start-up of the installed CLI as a user feels it. Each round runs, in turn,
 * `node -e 0` (the baseline: Node itself), the floor of any client (`node -e` with one unsigned GET to
 * the same service: Node's HTTP stack and the round trip, no CLI code), `jcs-redis --version`,
 * `jcs-redis --help` and `jcs-redis list` (a signed request to a real service with no instances, the
 * request included), as child processes of bin/jcs-redis.js and the bundle it runs (run `npm run build`
 * first), and `list` once more from tsc's unbundled modules in dist/ (what the bundle replaced). Rounds interleave the commands so load on the machine falls on all alike; medians, p95, the
 * ratio to the baseline's median and the load average are printed. Goals (issue 14): --version ≤ 2×,
 * list ≤ 3× `node -e 0`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startService } from '../src/main.ts';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const BIN = fileURLToPath(new URL('../bin/jcs-redis.js', import.meta.url));
const UNBUNDLED = new URL('../dist/cli/run-cli.js', import.meta.url).href;
if (!existsSync(fileURLToPath(new URL('../dist/cli/run-cli.bundle.js', import.meta.url)))) throw new Error('dist/ is missing: run `npm run build` first');

const dataDir = mkdtempSync(join(tmpdir(), 'jcs-bench-cli-'));
const config = loadConfig({ JCS_DATA_DIR: dataDir, JCS_ACCESS_KEY: 'BENCHAK', JCS_SECRET_KEY: 'BENCHSK', JCS_INSTANCE_PORTS: '28600-28649' }, { port: 0 });
const service = await startService(config, createLogger('warn', pino.destination({ dest: join(dataDir, 'service.log'), sync: true })));
const env = { PATH: process.env.PATH ?? '', HOME: dataDir, JCS_ENDPOINT: service.url, JCS_ACCESS_KEY: 'BENCHAK', JCS_SECRET_KEY: 'BENCHSK' };

const commands: [name: string, file: string, args: string[]][] = [
  ['node -e 0', process.execPath, ['-e', '0']],
  ['floor: node + 1 GET', process.execPath, ['-e', `require('node:http').get(${JSON.stringify(`${service.url}/v1/regions/cn-north-1/cacheInstance`)}, (r) => r.resume().on('end', () => process.exit(0)))`]],
  ['jcs-redis --version', process.execPath, [BIN, '--version']],
  ['jcs-redis --help', process.execPath, [BIN, '--help']],
  ['jcs-redis list', process.execPath, [BIN, 'list']],
  // The same command from tsc's per-module output in dist/ (what bin ran before the bundle): the gain.
  ['list, unbundled', process.execPath, ['--input-type=module', '-e', `const { runCli } = await import(${JSON.stringify(UNBUNDLED)}); process.exit(await runCli(['node', 'jcs-redis', 'list']));`]],
];
const times = new Map<string, number[]>(commands.map(([name]) => [name, []]));

const loadBefore = loadavg()[0] ?? NaN;
try {
  for (const [, file, args] of commands) await run(file, args, { env }); // warm the page cache
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, file, args] of commands) {
      const start = performance.now();
      await run(file, args, { env });
      times.get(name)?.push(performance.now() - start);
    }
  }
} finally {
  await service.close();
  rmSync(dataDir, { recursive: true, force: true });
}

const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const base = quantile(times.get('node -e 0') ?? [], 0.5);
console.log(`bench:cli, ${ROUNDS} interleaved rounds, ms (1-minute load average ${loadBefore.toFixed(2)} before, ${(loadavg()[0] ?? NaN).toFixed(2)} after)`);
console.log('command                  median     p95   ratio to node -e 0 (medians)');
for (const [name] of commands) {
  const xs = times.get(name) ?? [];
  const median = quantile(xs, 0.5);
  console.log(`${name.padEnd(24)} ${median.toFixed(1).padStart(7)} ${quantile(xs, 0.95).toFixed(1).padStart(7)}   ${(median / base).toFixed(2)}×`);
}
