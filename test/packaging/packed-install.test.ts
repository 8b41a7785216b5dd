/**
 * The package as a user gets it: `npm pack`, `npm install -g` into a temporary prefix, then, from an
 * unrelated directory, `jcs-redis --version`, `serve --ephemeral`, `create --wait`, `list`, `allow`
 * (an IP white list), `delete`, and after SIGTERM nothing left: no node process, no data directory, the
 * instance port closed, no nftables table or rule. Ephemeral services stopped by SIGINT, or whose parent
 * dies, clean up the same way.
 *
 * As root, the services and the CLI run inside a network namespace this test makes (test/helpers/netns.ts),
 * so the white list's nftables rules are real but never touch the machine's own ruleset; the firewall
 * checks need that and are skipped without root.
 *
 * One shortcut, said here: the install runs with --ignore-scripts and the better-sqlite3 binary this
 * clone already built is copied in, because compiling SQLite again takes minutes on the CI machine.
 * Everything else (files in the tarball, the bin link, dependency resolution, no EBADENGINE) is real.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portOpen, processesWorkingIn } from '../helpers/leftovers.ts';
import { createNetnsLab, netnsSupport, type NetnsLab } from '../helpers/netns.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), 'jcs-packed-'));
const prefix = join(work, 'prefix');
const elsewhere = join(work, 'elsewhere');
const bin = join(prefix, 'bin', 'jcs-redis');
let npmCache = '';
let installLog = '';
/** Every ephemeral service started here: a test that fails before its own check must not leave one running. */
const started: number[] = [];
let lab: NetnsLab | undefined;

/** `cmd args` as run in the lab's namespace when there is one (as root), else as is. */
const inLab = (cmd: string, args: string[]): [string, string[]] => (lab ? ['ip', ['netns', 'exec', lab.srv, cmd, ...args]] : [cmd, args]);
/** Whether 127.0.0.1:`port` accepts connections where the services run. */
const portOpenThere = async (port: number): Promise<boolean> =>
  lab ? lab.exec(lab.srv, 'bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).code === 0 : portOpen(port);
/** The nftables ruleset where the services run (the lab's namespace). */
const ruleset = (): string => {
  const res = lab!.exec(lab!.srv, 'nft', ['list', 'ruleset']);
  if (res.code !== 0) throw new Error(`nft list ruleset: ${res.stderr}`);
  return res.stdout;
};

/** Starts `jcs-redis serve --ephemeral` (through `wrapper` when given) and resolves with its JSON line. */
function startEphemeral(wrapper?: string): Promise<{ child: ReturnType<typeof spawn>; info: { endpoint: string; accessKey: string; secretKey: string; region: string; dataDir: string; pid: number } }> {
  const env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH ?? ''}`, HOME: elsewhere, JCS_INSTANCE_PORTS: '28450-28499' };
  const child = spawn(...inLab(...(wrapper ? ['/bin/bash', ['-c', wrapper]] : [bin, ['serve', '--ephemeral']]) as [string, string[]]), {
    cwd: elsewhere,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no endpoint line: ${out} ${err}`)), 30_000);
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        const info = JSON.parse(line) as { pid: number };
        started.push(info.pid);
        resolve({ child, info: info as never });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out} ${err}`)));
  });
}

beforeAll(async () => {
  npmCache = (await run('npm', ['config', 'get', 'cache'], { cwd: ROOT })).stdout.trim();
  // dist/ is fresh (the e2e tier's globalSetup built it), so the prepack build is skipped.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work], { cwd: ROOT });
  const tarball = join(work, packed.stdout.trim().split('\n').pop() as string);
  const installed = await run(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--cache', npmCache, tarball],
    { cwd: work, maxBuffer: 1 << 24 },
  );
  installLog = installed.stdout + installed.stderr;
  const native = 'node_modules/better-sqlite3/build/Release/better_sqlite3.node';
  const target = join(prefix, 'lib', 'node_modules', 'jcs-redis', native);
  rmSync(join(target, '..'), { recursive: true, force: true });
  await run('mkdir', ['-p', join(target, '..')]);
  copyFileSync(join(ROOT, native), target);
  await run('mkdir', ['-p', elsewhere]);
  if (netnsSupport.ok) lab = await createNetnsLab();
}, 180_000);

afterAll(async () => {
  // Normally each is gone already (the tests check it); after a failure this is the cleanup.
  for (const pid of started) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
  rmSync(work, { recursive: true, force: true });
  // Also fails the file if the machine's own ruleset or addresses changed.
  await lab?.destroy();
});

describe('the packed tarball, installed with npm install -g', () => {
  it('installs without an engine warning and holds no TypeScript, tests or dev tooling', () => {
    expect(installLog).not.toMatch(/EBADENGINE/);
    const pkg = join(prefix, 'lib', 'node_modules', 'jcs-redis');
    expect(existsSync(join(pkg, 'dist', 'cli', 'run-cli.bundle.js'))).toBe(true);
    expect(existsSync(join(pkg, 'dist', 'domain', 'catalogue', 'instance-classes.json'))).toBe(true);
    for (const absent of ['src', 'test', 'bench', 'node_modules/tsx', 'node_modules/typescript', 'node_modules/vitest']) expect(existsSync(join(pkg, absent)), absent).toBe(false);
  });

  it('runs --version and --help from any directory', async () => {
    expect((await run(bin, ['--version'], { cwd: elsewhere })).stdout.trim()).toBe(VERSION);
    const help = (await run(bin, ['--help'], { cwd: elsewhere })).stdout;
    for (const command of ['create-cache-instance', 'serve', 'accounts', 'admin', 'events']) expect(help).toContain(command);
  });

  it('serve --ephemeral, create --wait, list, allow, delete; after SIGTERM nothing is left', async () => {
    const { child, info } = await startEphemeral();
    expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const env = { PATH: process.env.PATH ?? '', HOME: elsewhere, JCS_ENDPOINT: info.endpoint, JCS_ACCESS_KEY: info.accessKey, JCS_SECRET_KEY: info.secretKey };
    const cli = async (...args: string[]) => (await run(...inLab(bin, args), { cwd: elsewhere, env })).stdout;
    const id = (await cli('create', '--name', 'packed', '--password', 'Passw0rd1', '--wait', '--quiet')).trim();
    expect(id).toMatch(/^redis-[a-z0-9]{12}$/);
    const port = Number(JSON.parse(await cli('show', id, '--json')).cacheInstance.port);
    expect(await portOpenThere(port)).toBe(true);
    expect(await cli('list')).toContain(id);
    expect(processesWorkingIn(info.dataDir).length).toBe(2);
    if (lab) {
      // A white list that leaves out loopback: the service writes nftables rules, in a table of its own.
      expect(await cli('allow', id, '--ip', lab.c1Addr)).toBe(`${id} admits ${lab.c1Addr}\n`);
      expect(await cli('ips', id)).toBe(`${lab.c1Addr}/32\n`);
      expect(ruleset()).toMatch(new RegExp(`table inet jcs_redis_e_[0-9a-f]{12} \\{[^]*chain i_${id} `));
      expect(ruleset()).not.toMatch(/table inet jcs_redis \{/);
      expect(await portOpenThere(port)).toBe(false);
    }
    // Left running on purpose: SIGTERM must remove it. The delete of a second one goes through the API.
    const second = (await cli('create', '--name', 'packed_two', '--wait', '--quiet')).trim();
    expect(await cli('delete', second, '--wait')).toContain(`${second} deleted`);
    expect(await cli('list', '--quiet')).toBe(`${id}\n`);

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(info.dataDir)).toBe(false);
    expect(processesWorkingIn(info.dataDir)).toEqual([]);
    expect(await portOpenThere(port)).toBe(false);
    // Not even an empty table is left (the rules made the port look closed; now nothing filters it).
    if (lab) expect(ruleset()).toBe('');
  });

  it('cleans up on SIGINT (Ctrl-C) too', async () => {
    const { child, info } = await startEphemeral();
    const env = { PATH: process.env.PATH ?? '', HOME: elsewhere, JCS_ENDPOINT: info.endpoint, JCS_ACCESS_KEY: info.accessKey, JCS_SECRET_KEY: info.secretKey };
    await run(...inLab(bin, ['create', '--name', 'packed_int', '--wait', '--quiet']), { cwd: elsewhere, env });
    expect(processesWorkingIn(info.dataDir).length).toBe(2);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(existsSync(info.dataDir)).toBe(false);
    expect(processesWorkingIn(info.dataDir)).toEqual([]);
  });

  it('cleans up when its parent process dies', async () => {
    // bash starts the service and waits; killing bash leaves the service re-parented.
    const { child, info } = await startEphemeral(`${bin} serve --ephemeral & wait`);
    expect(existsSync(info.dataDir)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && (existsSync(info.dataDir) || processesWorkingIn(info.dataDir).length > 0 || pidAlive(info.pid))) await new Promise((r) => setTimeout(r, 100));
    expect(pidAlive(info.pid)).toBe(false);
    expect(existsSync(info.dataDir)).toBe(false);
  });
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
