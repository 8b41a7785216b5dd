import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SdkBody } from '../helpers/sdk-client.ts';
import { createNetnsLab, netnsSupport, type NetnsLab, type NsAgent } from '../helpers/netns.ts';
import { msSpec, secretsIn, TEST_AK, TEST_SK } from '../helpers/test-service.ts';

// Observation 9 and IP white lists, end to end: the service runs as a child process inside a server
// namespace, binds instances to 0.0.0.0, and is used over the API from client namespaces c1 and c2
// ("other machines"), signing with the official SDK. Never the machine's own namespace.

const BIN = fileURLToPath(new URL('../../bin/jcs-redis.js', import.meta.url));
const PASSWORD = 'Abcd1234';

describe.skipIf(!netnsSupport.ok)(`IP white lists enforced by the kernel${netnsSupport.ok ? '' : ` (skipped: ${netnsSupport.reason})`}`, () => {
  let lab: NetnsLab;
  let dataDir: string;
  let service: ChildProcess | null = null;
  let output = '';
  let log = '';
  let c1: NsAgent;
  let c2: NsAgent;
  let url: string;
  let id = '';
  let port = 0;
  let replicaPort = 0;

  const sdk = (op: string, params: Record<string, unknown>): Promise<SdkBody> =>
    c1.call<SdkBody>({ kind: 'sdk', url, accessKey: TEST_AK, secretKey: TEST_SK, op, params });
  const ping = (agent: NsAgent, p = port): Promise<string> =>
    agent.call<string>({ kind: 'ping', host: lab.serverAddr, port: p, password: PASSWORD, timeoutMs: 1500 });
  const reach = (agent: NsAgent, p = port): Promise<string> => agent.call<string>({ kind: 'connect', host: lab.serverAddr, port: p, timeoutMs: 1500 });
  const nft = (...args: string[]) => lab.exec(lab.srv, 'nft', args);

  async function startService(): Promise<void> {
    output = '';
    const child = lab.spawnIn(lab.srv, process.execPath, [BIN, 'serve'], {
      ...process.env,
      JCS_HOST: lab.serverAddr,
      JCS_PORT: '8000', // the server namespace is private: no other test can hold this port there
      JCS_BIND_HOST: '0.0.0.0',
      JCS_ADVERTISED_HOST: lab.serverAddr,
      JCS_DATA_DIR: dataDir,
      JCS_INSTANCE_PORTS: '24000-24099',
      JCS_ACCESS_KEY: TEST_AK,
      JCS_SECRET_KEY: TEST_SK,
    });
    const keep = (d: Buffer): void => {
      output += d.toString();
      log += d.toString();
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    service = child;
    const deadline = Date.now() + 20_000;
    while (!output.includes('jcs-redis listening')) {
      if (child.exitCode !== null) throw new Error(`service exited ${child.exitCode}:\n${output}`);
      if (Date.now() > deadline) throw new Error(`service did not start:\n${output}`);
      await sleep(50);
    }
  }

  async function stopService(): Promise<void> {
    const child = service;
    service = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async function status(): Promise<string> {
    const body = await sdk('describeCacheInstance', { cacheInstanceId: id });
    if (body.error) return body.error.status === 'NOT_FOUND' ? 'gone' : `error ${body.error.status}`;
    return body.result.cacheInstance.cacheInstanceStatus as string;
  }

  async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<{ value: T; ms: number }> {
    const started = Date.now();
    let last: T | undefined;
    while (Date.now() - started < timeoutMs) {
      last = await fn();
      if (ok(last)) return { value: last, ms: Date.now() - started };
      await sleep(25);
    }
    throw new Error(`${what}: still ${JSON.stringify(last)} after ${timeoutMs} ms\n${output.slice(-3000)}`);
  }

  beforeAll(async () => {
    lab = await createNetnsLab();
    dataDir = mkdtempSync(join(tmpdir(), 'jcs-netns-data-'));
    lab.registerDataDir(dataDir);
    url = `http://${lab.serverAddr}:8000`;
    [c1, c2] = await Promise.all([lab.agent(lab.c1), lab.agent(lab.c2)]);
    await startService();
  });

  afterAll(async () => {
    await stopService();
    await lab?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves other machines: with the default list both c1 and c2 reach the published endpoint', async () => {
    const created = await sdk('createCacheInstance', { cacheInstance: msSpec({ password: PASSWORD }) });
    expect(created.error).toBeUndefined();
    id = created.result.cacheInstanceId as string;
    await until('create', status, (s) => s === 'running');
    const view = (await sdk('describeCacheInstance', { cacheInstanceId: id })).result.cacheInstance;
    expect(view.connectionDomain).toBe(lab.serverAddr);
    port = view.port as number;
    expect(await ping(c1)).toBe('PONG');
    expect(await ping(c2)).toBe('PONG');
    expect((await sdk('describeIpWhiteList', { cacheInstanceId: id })).result).toEqual({ ipWhiteList: ['0.0.0.0/0'] });
    // The default list writes no rules at all.
    expect(nft('list', 'ruleset').stdout).not.toContain(id);
  });

  it('a white list of c1 admits c1 and refuses c2 on every node, applied in milliseconds', async () => {
    const started = Date.now();
    const res = await sdk('modifyIpWhiteList', { cacheInstanceId: id, ipWhiteList: [`${lab.c1Addr}/32`] });
    expect(res.error).toBeUndefined();
    const refused = await until('c2 refused', () => reach(c2), (r) => r === 'refused', 10_000);
    console.log(`modifyIpWhiteList → c2 refused: ${Date.now() - started} ms (first refused probe after ${refused.ms} ms of polling)`);
    expect(await ping(c1)).toBe('PONG');
    const ports = JSON.parse(nft('-j', 'list', 'set', 'inet', 'jcs_redis', `p_${id}`).stdout) as { nftables: { set?: { elem: number[] } }[] };
    const elems = ports.nftables.find((x) => x.set)!.set!.elem;
    replicaPort = elems.find((p) => p !== port)!;
    expect(elems).toContain(port);
    expect(await reach(c2, replicaPort)).toBe('refused');
    expect(await ping(c1, replicaPort)).toBe('PONG');
    expect((await sdk('describeIpWhiteList', { cacheInstanceId: id })).result).toEqual({ ipWhiteList: [`${lab.c1Addr}/32`] });
    expect(await status()).toBe('running');
    const table = nft('list', 'table', 'inet', 'jcs_redis');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`chain i_${id}`);
    expect(table.stdout).toContain(lab.c1Addr);
    // A process on the server host is filtered like anyone else, from the host's address or over loopback:
    // the control plane uses the nodes' unix sockets and the nodes reach each other on their TLS ports.
    const local = await lab.agent(lab.srv);
    expect(await local.call({ kind: 'connect', host: lab.serverAddr, port, timeoutMs: 1500 })).toBe('refused');
    expect(await local.call({ kind: 'connect', host: '127.0.0.1', port, timeoutMs: 1500 })).toBe('refused');
  });

  it('refuses bad input naming the entry, and changes nothing', async () => {
    const cases: [unknown, RegExp][] = [
      [['1.2.3.4/33'], /^ipWhiteList\[0\]: "1\.2\.3\.4\/33" must be an IPv4 address or CIDR/],
      [['10.0.0.0/8', '300.1.1.1/8'], /^ipWhiteList\[1\]: "300\.1\.1\.1\/8" must be/],
      [['abc'], /^ipWhiteList\[0\]: "abc" must be/],
      [Array.from({ length: 1001 }, (_, i) => `10.0.${i >> 8}.${i & 255}`), /^ipWhiteList: must be an array of 1 to 1000 IPv4 CIDRs/],
      ['10.0.0.0/8', /^ipWhiteList: must be an array of 1 to 1000 IPv4 CIDRs/],
      [[], /^ipWhiteList: must not be empty/],
    ];
    for (const [ipWhiteList, message] of cases) {
      const res = await sdk('modifyIpWhiteList', { cacheInstanceId: id, ipWhiteList });
      expect(res.error?.status, JSON.stringify(ipWhiteList).slice(0, 60)).toBe('INVALID_ARGUMENT');
      expect(res.error?.message).toMatch(message);
    }
    expect((await sdk('describeIpWhiteList', { cacheInstanceId: id })).result).toEqual({ ipWhiteList: [`${lab.c1Addr}/32`] });
    expect(await reach(c2)).toBe('refused');
    expect(await ping(c1)).toBe('PONG');
  });

  it('rules outlive a restart of the service, and are re-applied when someone flushes them', async () => {
    await stopService();
    // Nodes and rules do not depend on the control plane.
    expect(await reach(c2)).toBe('refused');
    expect(await ping(c1)).toBe('PONG');
    await startService();
    expect(await reach(c2)).toBe('refused');
    expect(await ping(c1)).toBe('PONG');

    expect(nft('flush', 'table', 'inet', 'jcs_redis').code).toBe(0);
    const flushed = Date.now();
    expect(await reach(c2)).toBe('connected');
    const repaired = await until('rules re-applied', () => reach(c2), (r) => r === 'refused', 15_000);
    console.log(`flushed rules re-applied after ${Date.now() - flushed} ms`);
    expect(repaired.value).toBe('refused');
    await until('running again', status, (s) => s === 'running');
    expect(output).toMatch(/repaired \(firewall: rules of chain i_redis-\w+ differ from the IP white list/);
    expect(await ping(c1)).toBe('PONG');
  });

  it('a new list replaces the old one at once; deleting the instance leaves no rule behind', async () => {
    expect((await sdk('modifyIpWhiteList', { cacheInstanceId: id, ipWhiteList: ['10.213.2.0/24'] })).error).toBeUndefined();
    await until('c1 refused', () => reach(c1), (r) => r === 'refused', 10_000);
    expect(await ping(c2)).toBe('PONG');

    expect((await sdk('deleteCacheInstance', { cacheInstanceId: id })).error).toBeUndefined();
    await until('deleted', status, (s) => s === 'gone');
    const table = nft('list', 'table', 'inet', 'jcs_redis');
    expect(table.stdout).not.toContain(id);
    expect(await reach(c1)).toBe('refused'); // nothing listens any more, and nothing filters
    expect(await reach(c2, replicaPort)).toBe('refused');
  });

  it('native-cluster: every node port is filtered, and the rules go with the instance', async () => {
    const created = await sdk('createCacheInstance', {
      cacheInstance: msSpec({ password: PASSWORD, cacheInstanceClass: 'redis.o.1g.basic', cacheInstanceType: 'native-cluster', shardNumber: 3 }),
    });
    expect(created.error).toBeUndefined();
    const cid = created.result.cacheInstanceId as string;
    id = cid;
    await until('cluster create', status, (s) => s === 'running', 40_000);
    expect((await sdk('modifyIpWhiteList', { cacheInstanceId: cid, ipWhiteList: [`${lab.c1Addr}`] })).error).toBeUndefined();
    expect((await sdk('describeIpWhiteList', { cacheInstanceId: cid })).result).toEqual({ ipWhiteList: [`${lab.c1Addr}/32`] });
    // The API answers at once; the engine applies the list a few milliseconds later.
    const set = await until('rules applied', async () => nft('-j', 'list', 'set', 'inet', 'jcs_redis', `p_${cid}`), (r) => r.code === 0, 10_000);
    const listed = JSON.parse(set.value.stdout) as { nftables: { set?: { elem: number[] } }[] };
    const nodePorts = listed.nftables.find((x) => x.set)!.set!.elem;
    expect(nodePorts).toHaveLength(6);
    for (const p of nodePorts) {
      expect(await reach(c2, p)).toBe('refused');
      expect(await ping(c1, p)).toBe('PONG');
    }
    expect(await status()).toBe('running');
    expect((await sdk('deleteCacheInstance', { cacheInstanceId: cid })).error).toBeUndefined();
    await until('cluster deleted', status, (s) => s === 'gone', 30_000);
    expect(nft('list', 'table', 'inet', 'jcs_redis').stdout).not.toContain(cid);
  });

  it('wrote no secret to its log', () => {
    expect(log).toContain('IP white list change accepted');
    expect(secretsIn(log)).toEqual([]);
  });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
