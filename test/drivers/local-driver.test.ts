import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentDriverError } from '../../src/drivers/driver.ts';
import { createLocalDriver } from '../../src/drivers/local/local-driver.ts';
import { createLocalNodes } from '../../src/drivers/local/local-nodes.ts';
import { PortInUseError, type LocalSpec } from '../../src/drivers/local/local-spec.ts';
import { wrapDriver } from '../../src/drivers/wrap-driver.ts';
import { runDriverContract, sha256, tenantConnection } from './driver-contract.ts';
import {
  HOST,
  adminConnection,
  internalPortsFor,
  memoryPortBook,
  freePortBlock,
  reapAbandonedRuns,
  killEverythingUnder,
  killNode,
  leftovers,
  nodePid,
  recordingLogger,
  processesUnder,
  portOpen,
} from './local-harness.ts';

/** Whether this process may mount a tmpfs (root in most CI containers and dev VMs). */
async function canMountTmpfs(): Promise<boolean> {
  const probe = await mkdtemp(join(tmpdir(), 'jcs-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!(await portOpen(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} did not open`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// Ports 17000-17999 belong to this file: one free block of 100, contract in +0..39, local-only tests
// in +40..99 (spec(n) below, n < 30).
const BLOCK = 100;
/** TLS ports of this file's nodes: 28000-28999. */
const TLS_OFFSET = 11_000;
const base = await freePortBlock(17000, 17999, BLOCK);
await reapAbandonedRuns(tmpdir(), 'jcs-local-driver-');
const dataDir = await mkdtemp(join(tmpdir(), 'jcs-local-driver-'));
await writeFile(join(dataDir, 'owner.pid'), String(process.pid));
const mountAllowed = await canMountTmpfs();
const logger = recordingLogger();
// The contract runs through the driver seam, its ports from an in-memory book over +0..39 of the block.
const book = memoryPortBook(base, base + 39);
const makeDriver = () => wrapDriver(createLocalDriver({ dataDir, logger, ports: book }), { logger, timeoutMs: 30_000 });
const signal = (): AbortSignal => AbortSignal.timeout(30_000);

afterAll(async () => {
  const killed = await killEverythingUnder(dataDir);
  await rm(dataDir, { recursive: true, force: true });
  // Every test removes what it made; a process left here is a leak in the driver or a test.
  expect(killed).toBe(0);
});

runDriverContract('local', {
  makeDriver,
  host: HOST,
  adminConnection: (id, port) => adminConnection(dataDir, id, port),
  killNode: (id, port) => killNode(dataDir, id, port),
  leftovers: (id, ports) => leftovers(dataDir, id, ports),
});

describe('local driver specifics', () => {
  // The topology code itself, on ports this file chooses (LocalSpec).
  const driver = createLocalNodes({ dataDir, logger });
  beforeAll(() => driver.init(signal()));
  const made: string[] = [];

  function spec(n: number, overrides: Partial<LocalSpec> = {}): LocalSpec {
    if (41 + 2 * n >= BLOCK) throw new Error(`spec(${n}) would leave this file's port block`);
    const id = `redis-local${n}x${process.pid}`;
    made.push(id);
    return {
      id,
      topology: 'master-slave',
      shards: [{ master: base + 40 + 2 * n, replica: base + 41 + 2 * n }],
      internalPorts: internalPortsFor([{ master: base + 40 + 2 * n, replica: base + 41 + 2 * n }], TLS_OFFSET),
      memoryMbPerShard: 32,
      maxClients: 500,
      passwordSha256: sha256(`secret-${n}`),
      databases: 16,
      maxmemoryPolicy: 'volatile-lru',
      ipWhiteList: ['0.0.0.0/0'],
      ...overrides,
    };
  }

  afterAll(async () => {
    for (const id of made) await driver.ensureAbsent(id, signal());
    await driver.close();
  });

  it('init fails clearly when redis-server is missing', async () => {
    const d = createLocalNodes({ dataDir, logger, redisServer: '/nonexistent/redis-server' });
    const err = await d.init(signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentDriverError);
    expect((err as Error).message).toMatch(/not found/);
    expect((err as Error).message).toMatch(/apt-get install redis-server/);
    expect((err as Error).message).toMatch(/JCS_REDIS_SERVER/);
  });

  it('init refuses a redis-server older than 7.0', async () => {
    const fake = join(dataDir, 'old-redis-server');
    await writeFile(fake, '#!/bin/sh\necho "Redis server v=6.2.14 sha=00000000:0 malloc=jemalloc bits=64"\n');
    await chmod(fake, 0o755);
    const err = await createLocalNodes({ dataDir, logger, redisServer: fake })
      .init(signal())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentDriverError);
    expect((err as Error).message).toMatch(/6\.2\.14, too old/);
  });

  it('reports a redis-server that crashes at start with its exit code, and leaves no process', async () => {
    const crashing = join(dataDir, 'crashing-redis-server');
    await writeFile(
      crashing,
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "Redis server v=7.0.15 sha=0"; exit 0; fi\nexit 3\n',
    );
    await chmod(crashing, 0o755);
    // The driver's init starts the binary once (to learn how it prints ACL rules): the crash shows there.
    const d = createLocalNodes({ dataDir, logger, redisServer: crashing });
    await expect(d.init(signal())).rejects.toThrow(/exited with code 3/);
    expect(await processesUnder(dataDir)).toEqual([]);
    await d.close();
  });

  it('creates a fresh pair fast (median of 5 well under 500 ms)', async () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s = spec(10 + i);
      const t0 = performance.now();
      await driver.ensurePresent(s, signal());
      const obs = await driver.observe(s, signal());
      times.push(performance.now() - t0);
      expect(obs.healthy).toBe(true);
      await driver.ensureAbsent(s.id, signal());
    }
    times.sort((a, b) => a - b);
    const median = times[2]!;
    console.log(`fresh master-slave pair, ensurePresent+observe: median ${median.toFixed(1)} ms, all ${times.map((t) => t.toFixed(1)).join(', ')}`);
    expect(median).toBeLessThan(500);
  });

  it('keeps files private and never writes the tenant password in clear', async () => {
    const s = spec(1);
    await driver.ensurePresent(s, signal());
    const c = await tenantConnection(HOST, s.shards[0]!.master, 'secret-1');
    await c.set('x', 'y');
    await driver.setPassword({ ...s, passwordSha256: sha256('rotated-1') }, signal());
    c.disconnect();
    const dir = join(dataDir, 'instances', s.id);
    expect((await stat(join(dir, 'internal-secrets.json'))).mode & 0o777).toBe(0o600);
    for (const port of [s.shards[0]!.master, s.shards[0]!.replica]) {
      const conf = await readFile(join(dir, String(port), 'redis.conf'), 'utf8');
      expect((await stat(join(dir, String(port), 'redis.conf'))).mode & 0o777).toBe(0o600);
      expect(conf).toContain(`user default on #${sha256('rotated-1')} sanitize-payload ~* &*`);
      expect(conf).toMatch(/^appendonly yes$/m);
      expect(conf).toMatch(/^appendfsync everysec$/m);
    }
    const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(4);
    // The node certificate's key, like every secret here, is for this user only.
    expect((await stat(join(dir, 'tls', 'node-1.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, 'tls', 'ca-1.key'))).mode & 0o777).toBe(0o600);
    for (const f of files) {
      const text = await readFile(join(f.parentPath, f.name), 'latin1');
      expect(text, f.name).not.toContain('secret-1');
      expect(text, f.name).not.toContain('rotated-1');
    }
    expect(logger.lines.join('\n')).not.toMatch(/secret-1|rotated-1/);
  });

  it('refuses a port held by a foreign process, naming the port, and starts nothing', async () => {
    const s = spec(2);
    const sockets = new Set<Socket>();
    const server: Server = createServer((sock) => {
      sockets.add(sock);
      sock.on('error', () => undefined); // the driver hangs up on us: expected
      sock.end('-ERR not redis\r\n');
    });
    await new Promise<void>((resolve) => server.listen(s.shards[0]!.replica, HOST, resolve));
    try {
      const err = await driver.ensurePresent(s, signal()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortInUseError);
      expect((err as PortInUseError).port).toBe(s.shards[0]!.replica);
      expect((err as Error).message).toMatch(new RegExp(`port ${s.shards[0]!.replica}`));
      expect(await processesUnder(join(dataDir, 'instances', s.id))).toEqual([]);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
    await driver.ensurePresent(s, signal());
    expect((await driver.observe(s, signal())).healthy).toBe(true);
  });

  it('finishes a restore that was interrupted after the replica was promoted', async () => {
    const s = spec(3);
    await driver.ensurePresent(s, signal());
    const c = await tenantConnection(HOST, s.shards[0]!.master, 'secret-3');
    await c.set('kept', 'yes');
    expect(await c.call('WAIT', '1', '2000')).toBe(1);
    c.disconnect();
    await killNode(dataDir, s.id, s.shards[0]!.master);
    const a = await adminConnection(dataDir, s.id, s.shards[0]!.replica);
    await a.call('REPLICAOF', 'NO', 'ONE');
    await a.set('written-to-promoted-replica', '1');
    a.disconnect();

    await driver.ensurePresent(s, signal());
    const obs = await driver.observe(s, signal());
    expect(obs.problems).toEqual([]);
    const back = await tenantConnection(HOST, s.shards[0]!.master, 'secret-3');
    expect(await back.get('kept')).toBe('yes');
    expect(await back.get('written-to-promoted-replica')).toBe('1');
    back.disconnect();
  });

  it('finishes a restore that was interrupted while the master re-synced from its replica', async () => {
    const s = spec(5);
    const { master, replica } = s.shards[0]!;
    await driver.ensurePresent(s, signal());
    const c = await tenantConnection(HOST, master, 'secret-5');
    await c.set('kept', 'yes');
    expect(await c.call('WAIT', '1', '2000')).toBe(1);
    c.disconnect();
    // The state a crash leaves between "replica promoted, master started as its replica" and the end.
    await killNode(dataDir, s.id, master);
    const a = await adminConnection(dataDir, s.id, replica);
    await a.call('REPLICAOF', 'NO', 'ONE');
    await a.set('written-to-promoted-replica', '1');
    a.disconnect();
    const conf = join(dataDir, 'instances', s.id, String(master), 'redis.conf');
    await writeFile(conf, `${await readFile(conf, 'utf8')}replicaof 127.0.0.1 ${replica}\n`);
    spawn('redis-server', [conf], { detached: true, stdio: 'ignore' }).unref();
    await waitForPort(master);

    await driver.ensurePresent(s, signal());
    const obs = await driver.observe(s, signal());
    expect(obs.problems).toEqual([]);
    expect(obs.nodes.map((n) => n.role)).toEqual(['master', 'replica']);
    expect(await readFile(conf, 'utf8')).not.toMatch(/^replicaof/m);
    const back = await tenantConnection(HOST, master, 'secret-5');
    expect(await back.get('kept')).toBe('yes');
    expect(await back.get('written-to-promoted-replica')).toBe('1');
    back.disconnect();
  });

  it('restores a dead master from its own AOF when it wrote after the replica lost its link', async () => {
    const s = spec(8);
    const { master } = s.shards[0]!;
    await driver.ensurePresent(s, signal());
    const c = await tenantConnection(HOST, master, 'secret-8');
    await c.set('replicated', '1');
    expect(await c.call('WAIT', '1', '2000')).toBe(1);
    // Cut the link for good: the replica can no longer log in, so it keeps its old data.
    const a = await adminConnection(dataDir, s.id, master);
    await a.call('ACL', 'SETUSER', 'jcs-replication', 'resetpass', '>locked-out');
    await a.call('CLIENT', 'KILL', 'TYPE', 'replica');
    a.disconnect();
    await new Promise((r) => setTimeout(r, 3_000));
    await c.set('only-on-master', '1');
    c.disconnect();
    await killNode(dataDir, s.id, master);

    await driver.ensurePresent(s, signal());
    const obs = await driver.observe(s, signal());
    expect(obs.problems).toEqual([]);
    const back = await tenantConnection(HOST, master, 'secret-8');
    expect(await back.get('only-on-master')).toBe('1');
    expect(await back.get('replicated')).toBe('1');
    back.disconnect();
  });

  it('leaves instances running when the control plane is killed with SIGKILL, and re-adopts them', async () => {
    const s = spec(6);
    const script = join(dataDir, 'control-plane.mts');
    const driverModule = new URL('../../src/drivers/local/local-nodes.ts', import.meta.url).pathname;
    await writeFile(
      script,
      [
        `import { createLocalNodes } from ${JSON.stringify(driverModule)};`,
        `const log = { debug() {}, info() {}, warn() {}, error() {} };`,
        `const d = createLocalNodes({ dataDir: ${JSON.stringify(dataDir)}, logger: log });`,
        `await d.init(AbortSignal.timeout(10000));`,
        `await d.ensurePresent(${JSON.stringify(s)}, AbortSignal.timeout(10000));`,
        `process.stdout.write('ready\\n');`,
        `setInterval(() => undefined, 1000);`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`control plane exited early with ${code}`)));
    });
    const pidsBefore = await Promise.all([s.shards[0]!.master, s.shards[0]!.replica].map((port) => nodePid(dataDir, s.id, port)));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const c = await tenantConnection(HOST, s.shards[0]!.master, 'secret-6');
    expect(await c.set('still', 'here')).toBe('OK');
    c.disconnect();
    await driver.ensurePresent(s, signal());
    const obs = await driver.observe(s, signal());
    expect(obs.healthy).toBe(true);
    expect(obs.nodes.map((n) => n.pid)).toEqual(pidsBefore);
  });

  it('adopts its own node even when the pidfile is gone (never leaks it as "foreign")', async () => {
    const s = spec(9);
    await driver.ensurePresent(s, signal());
    const before = (await driver.observe(s, signal())).nodes.map((n) => n.pid);
    await rm(join(dataDir, 'instances', s.id, String(s.shards[0]!.replica), 'redis.pid'));
    await driver.ensurePresent(s, signal());
    const after = await driver.observe(s, signal());
    expect(after.healthy).toBe(true);
    expect(after.nodes.map((n) => n.pid)).toEqual(before);
    expect(logger.lines.some((l) => l.includes('pidfile does not match'))).toBe(true);
  });

  // Needs root (or CAP_SYS_ADMIN) for a small tmpfs; skipped where the machine does not allow it.
  it.skipIf(!mountAllowed)('reports a full disk as an AOF problem, and recovers when space returns', async () => {
    const small = join(dataDir, 'small-disk');
    await mkdir(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', small]);
    const d = createLocalNodes({ dataDir: small, logger });
    const s = spec(15);
    try {
      await d.init(signal());
      await d.ensurePresent(s, signal());
      const c = await tenantConnection(HOST, s.shards[0]!.master, 'secret-15');
      await c.set('before', '1');
      // Fill the disk, then write: the master's AOF write fails and Redis refuses further writes.
      await writeFile(join(small, 'filler'), Buffer.alloc(0));
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${join(small, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // dd stops with ENOSPC: that is the point
      }
      await c.set('big', 'x'.repeat(256 * 1024)).catch(() => undefined);
      let problems: string[] = [];
      for (let i = 0; i < 200 && !problems.some((p) => p.includes('cannot write its AOF')); i++) {
        await new Promise((r) => setTimeout(r, 10));
        problems = (await d.observe(s, signal())).problems;
      }
      expect(problems.join('; ')).toMatch(new RegExp(`master ${s.shards[0]!.master} cannot write its AOF`));
      await expect(c.set('refused', '1')).rejects.toThrow(/MISCONF|AOF/);

      await rm(join(small, 'filler'));
      let healthy = false;
      for (let i = 0; i < 300 && !healthy; i++) {
        await new Promise((r) => setTimeout(r, 10));
        healthy = (await d.observe(s, signal())).healthy;
      }
      expect(healthy).toBe(true);
      expect(await c.set('after', '1')).toBe('OK');
      expect(await c.get('before')).toBe('1');
      c.disconnect();
    } finally {
      await d.ensureAbsent(s.id, signal());
      await d.close();
      execFileSync('umount', [small]);
    }
  });

  it('heals from SIGKILLs that land in the middle of a repair, keeping every replicated write', async () => {
    const s = spec(16);
    const ports = [s.shards[0]!.master, s.shards[0]!.replica];
    const killSoon = (port: number, ms: number) =>
      setTimeout(() => {
        nodePid(dataDir, s.id, port)
          .then((pid) => process.kill(pid, 'SIGKILL'))
          .catch(() => undefined); // already dead, or not started yet: also a fault worth surviving
      }, ms);
    await driver.ensurePresent(s, signal());
    const replicated: string[] = [];
    let failedCalls = 0;
    for (let round = 0; round < 12; round++) {
      const c = await tenantConnection(HOST, ports[0]!, 'secret-16');
      await c.set(`round:${round}`, String(round));
      if ((await c.call('WAIT', '1', '1500')) === 1) replicated.push(`round:${round}`);
      c.disconnect();
      await killNode(dataDir, s.id, ports[round % 2]!);
      const second = killSoon(ports[Math.floor(Math.random() * 2)]!, Math.random() * 40);
      await driver.ensurePresent(s, signal()).catch(() => failedCalls++);
      clearTimeout(second);
      let healed = false;
      for (let attempt = 0; attempt < 5 && !healed; attempt++) {
        healed = await driver.ensurePresent(s, signal()).then(
          () => true,
          () => false,
        );
      }
      expect(healed, `round ${round}`).toBe(true);
      const obs = await driver.observe(s, signal());
      expect(obs.problems, `round ${round}`).toEqual([]);
    }
    const c = await tenantConnection(HOST, ports[0]!, 'secret-16');
    for (const key of replicated) expect(await c.get(key), key).not.toBeNull();
    c.disconnect();
    expect(replicated.length).toBeGreaterThan(6);
    console.log(`mid-repair kills: 12 rounds, ${failedCalls} interrupted ensurePresent calls, ${replicated.length} replicated keys all kept`);
  });

  it('caps maxclients to the file-descriptor limit and reports the cap', async () => {
    const s = spec(4, { maxClients: 10_000_000 });
    await driver.ensurePresent(s, signal());
    const obs = await driver.observe(s, signal());
    expect(obs.healthy).toBe(true);
    expect(obs.effectiveMaxClients).toBeLessThan(10_000_000);
    expect(obs.nodes.every((n) => n.maxclients === obs.effectiveMaxClients)).toBe(true);
  });

  it('logs one line per wrapped call with its duration and outcome (the contract ran through wrapDriver)', () => {
    const calls = logger.lines.filter((l) => l.includes('driver call'));
    expect(calls.some((l) => /"op":"ensurePresent".*"outcome":"ok"/.test(l) && /"durationMs":\d+/.test(l))).toBe(true);
  });
});
