import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { killInstanceProcesses, removeInstanceCgroups } from './test-service.ts';

/**
 * A private network for tests that change firewall rules or listen beyond loopback. Tests must never
 * change the rules or addresses of the machine's own network namespace, so everything happens in
 * namespaces made here:
 *
 *   c1 (10.213.1.2) ──veth── 10.213.1.1  srv  10.213.2.1 ──veth── (10.213.2.2) c2
 *
 * Both veth ends are created directly inside their namespaces (they never exist in the machine's
 * own), addresses come from 10.213.0.0/16, which is fine only because they live in namespaces this
 * helper made; c2 reaches 10.213.1.1 through srv. `destroy` stops what was started in them, kills the
 * redis-servers of every registered data directory, deletes the namespaces (their veths and nft
 * tables go with them) and the temp directory, and fails if the machine's own ruleset changed.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN_TS = join(ROOT, 'bin/run-ts.js');
const AGENT = join(ROOT, 'test/helpers/netns-agent.ts');

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Whether this process can build the lab, and if not, why (for `describe.skipIf` messages). */
export const netnsSupport: { ok: boolean; reason: string } = (() => {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (ip netns, nftables)' };
  if (!which('ip')) return { ok: false, reason: 'needs iproute2 (`ip`)' };
  if (!which('nft')) return { ok: false, reason: 'needs nftables (`nft`)' };
  return { ok: true, reason: '' };
})();

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A long-lived helper process inside a client namespace (netns-agent.ts): SDK calls and connects. */
export interface NsAgent {
  call<T = unknown>(request: Record<string, unknown>): Promise<T>;
}

export interface NetnsLab {
  srv: string;
  c1: string;
  c2: string;
  /** srv's address on c1's link: what clients in both namespaces connect to. */
  serverAddr: string;
  c1Addr: string;
  c2Addr: string;
  /** A temp directory removed by destroy. */
  dir: string;
  /** Runs a command inside `ns` and waits for it. */
  exec(ns: string, cmd: string, args: string[]): ExecResult;
  /** Starts a command inside `ns`; it is killed by destroy if still running. */
  spawnIn(ns: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** An agent inside `ns` (started once per namespace). */
  agent(ns: string): Promise<NsAgent>;
  /** Redis-servers with pidfiles under this data directory are killed by destroy. */
  registerDataDir(dataDir: string): void;
  /** A path that runs `nft` inside `ns` (for JCS_NFT or the firewall module in-process). */
  nftIn(ns: string): string;
  destroy(): Promise<void>;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** The machine's own ruleset and addresses: destroy checks they did not change. */
function rootSnapshot(): string {
  const nft = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' }).stdout;
  const addrs = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout.replace(/valid_lft.*$/gm, '');
  return `${nft}\n${addrs}`;
}

export async function createNetnsLab(): Promise<NetnsLab> {
  if (!netnsSupport.ok) throw new Error(`netns lab: ${netnsSupport.reason}`);
  const before = rootSnapshot();
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const short = randomBytes(3).toString('hex');
  const names = { srv: `jcs-${tag}-srv`, c1: `jcs-${tag}-c1`, c2: `jcs-${tag}-c2` };
  const dir = mkdtempSync(join(tmpdir(), 'jcs-netns-'));
  const children: ChildProcess[] = [];
  const agents = new Map<string, Promise<NsAgent>>();
  const dataDirs: string[] = [];
  const made: string[] = [];

  const lab: NetnsLab = {
    ...names,
    serverAddr: '10.213.1.1',
    c1Addr: '10.213.1.2',
    c2Addr: '10.213.2.2',
    dir,
    exec(ns, cmd, args) {
      const res = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 30_000 });
      return { code: res.status, stdout: res.stdout ?? '', stderr: res.stderr ?? '' };
    },
    spawnIn(ns, cmd, args, env) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    agent(ns) {
      let a = agents.get(ns);
      if (!a) {
        a = startAgent(lab.spawnIn(ns, process.execPath, [RUN_TS, AGENT]));
        agents.set(ns, a);
      }
      return a;
    },
    registerDataDir(dataDir) {
      dataDirs.push(dataDir);
    },
    nftIn(ns) {
      const path = join(dir, `nft-in-${ns}`);
      writeFileSync(path, `#!/bin/sh\nexec ip netns exec ${ns} nft "$@"\n`);
      chmodSync(path, 0o755);
      return path;
    },
    async destroy() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.all(children.map((c) => exited(c, 5_000)));
      for (const d of dataDirs) {
        killInstanceProcesses(d);
        await removeInstanceCgroups(d);
      }
      for (const ns of made) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
      const after = rootSnapshot();
      if (after !== before) throw new Error('the machine’s own nft ruleset or addresses changed during the test');
    },
  };

  try {
    for (const ns of [names.srv, names.c1, names.c2]) {
      run('ip', ['netns', 'add', ns]);
      made.push(ns);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const link = (client: string, srvIf: string, cliIf: string, srvAddr: string, cliAddr: string): void => {
      run('ip', ['link', 'add', srvIf, 'netns', names.srv, 'type', 'veth', 'peer', 'name', cliIf, 'netns', client]);
      run('ip', ['-n', names.srv, 'addr', 'add', `${srvAddr}/30`, 'dev', srvIf]);
      run('ip', ['-n', client, 'addr', 'add', `${cliAddr}/30`, 'dev', cliIf]);
      run('ip', ['-n', names.srv, 'link', 'set', srvIf, 'up']);
      run('ip', ['-n', client, 'link', 'set', cliIf, 'up']);
    };
    link(names.c1, `j${short}s1`, `j${short}c1`, '10.213.1.1', '10.213.1.2');
    link(names.c2, `j${short}s2`, `j${short}c2`, '10.213.2.1', '10.213.2.2');
    run('ip', ['-n', names.c2, 'route', 'add', '10.213.1.0/30', 'via', '10.213.2.1']);
  } catch (err) {
    await lab.destroy().catch(() => undefined);
    throw err;
  }
  return lab;
}

function exited(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function startAgent(child: ChildProcess): Promise<NsAgent> {
  let next = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolveReady, rejectReady) => {
    child.once('exit', (code) => {
      const err = new Error(`netns agent exited (${code}): ${stderr.slice(-2000)}`);
      rejectReady(err);
      for (const p of pending.values()) p.reject(err);
    });
    lines.on('line', (line) => {
      const msg = JSON.parse(line) as { id?: number; ready?: boolean; result?: unknown; error?: string };
      if (msg.ready) {
        resolveReady({
          call<T>(request: Record<string, unknown>): Promise<T> {
            const id = next++;
            return new Promise<T>((resolve, reject) => {
              pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
              child.stdin!.write(`${JSON.stringify({ id, ...request })}\n`);
            });
          },
        });
        return;
      }
      const p = pending.get(msg.id!);
      if (!p) return;
      pending.delete(msg.id!);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result);
    });
  });
}
