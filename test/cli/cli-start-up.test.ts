/**
 * What the installed CLI loads (issue 14: "--version and --help load nothing of the server"; the start-up
 * goal depends on it): every module a run resolves is recorded by a module hook (ES modules) and a
 * preload that lists require.cache at exit (CommonJS), and compared with what each command may load:
 * the bin script, for `--version`; the one bundled file, for `--help` and the client commands. Node's
 * built-in modules are left out. bench:cli measures the time (docs/benchmarks.md).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliProcess } from './run-cli-process.ts';
import { closedPort } from './stub-api-server.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'jcs-cli-start-up-'));
const BIN = 'bin/jcs-redis.js';
const BUNDLE = 'dist/cli/run-cli.bundle.js';
let port: number;

beforeAll(async () => {
  port = await closedPort();
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
     export async function resolve(specifier, context, next) {
       const resolved = await next(specifier, context);
       appendFileSync(process.env.MODULE_LOG, resolved.url + '\\n');
       return resolved;
     }`,
  );
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
  writeFileSync(
    join(dir, 'preload.cjs'),
    `process.on('exit', () => require('node:fs').appendFileSync(process.env.MODULE_LOG, Object.keys(require.cache).map((f) => require('node:url').pathToFileURL(f).href + '\\n').join('')));\n`,
  );
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the CLI and returns the files it loaded, relative to the clone, in load order, once each. */
async function loaded(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; files: string[] }> {
  const log = join(dir, `modules-${args.join('_').replace(/\W/g, '')}.log`);
  writeFileSync(log, '');
  const run = await runCliProcess(args, {
    HOME: dir,
    MODULE_LOG: log,
    NODE_OPTIONS: `--require ${join(dir, 'preload.cjs')} --import ${pathToFileURL(join(dir, 'register.mjs')).href}`,
    ...env,
  });
  const files = readFileSync(log, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith('file:') && !url.startsWith(pathToFileURL(dir).href))
    .map((url) => fileURLToPath(url).replace(`${ROOT}`, ''));
  return { code: run.code, files: [...new Set(files)] };
}

describe('what the CLI loads', () => {
  it('--version: the bin script only', async () => {
    expect(await loaded(['--version'])).toEqual({ code: 0, files: [BIN] });
  });

  it('--help, serve --help: the bin script and the one bundled file, nothing of the server', async () => {
    expect(await loaded(['--help'])).toEqual({ code: 0, files: [BIN, BUNDLE] });
    expect(await loaded(['serve', '--help'])).toEqual({ code: 0, files: [BIN, BUNDLE] });
  });

  it('a client command (a signed list request; the service is down): the same two files', async () => {
    const env = { JCS_ENDPOINT: `http://127.0.0.1:${port}`, JCS_ACCESS_KEY: 'AK', JCS_SECRET_KEY: 'SK' };
    expect(await loaded(['list'], env)).toEqual({ code: 4, files: [BIN, BUNDLE] });
  });

  it('a command on the data directory loads the compiled code it needs from dist/, outside the bundle', async () => {
    const { code, files } = await loaded(['accounts', 'list', '--data-dir', join(dir, 'no-store')]);
    expect(code).toBe(2); // no store there
    // The account functions (and their store queries), then the settings; refused before the store opens.
    // Of the project's own files exactly these; of the libraries only Kysely (the store's query builder,
    // which the account queries and their first-start lock use).
    expect(files.filter((f) => !f.startsWith('node_modules/'))).toEqual([BIN, BUNDLE, 'dist/domain/accounts/account-service.js', 'dist/store/accounts-repo.js', 'dist/store/store-locks.js', 'dist/config.js']);
    expect(new Set(files.filter((f) => f.startsWith('node_modules/')).map((f) => f.split('/')[1]))).toEqual(new Set(['kysely']));
  });
});
