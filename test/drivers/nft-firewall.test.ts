import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalSpec } from '../../src/drivers/local/local-spec.ts';
import { createNftFirewall, type NftFirewall } from '../../src/drivers/local/firewall/nft-firewall.ts';
import { createNetnsLab, netnsSupport, type NetnsLab, type NsAgent } from '../helpers/netns.ts';
import { recordingLogger } from './local-harness.ts';

// The firewall module against the real kernel, inside namespaces made by the test (never the
// machine's own). nft runs inside the server namespace through a wrapper; plain TCP listeners stand
// in for nodes. trustedSources is [] here: the state once the control plane no longer uses client
// ports, where a local process is filtered like anyone else.

const PORT_A1 = 24100;
const PORT_A2 = 24101;
const PORT_B = 24102;

function spec(id: string, ports: number[], ipWhiteList: string[]): LocalSpec {
  return {
    id,
    topology: 'master-slave',
    shards: [{ master: ports[0]!, replica: ports[1] ?? ports[0]! }],
    internalPorts: {},
    memoryMbPerShard: 32,
    maxClients: 100,
    passwordSha256: null,
    databases: 16,
    maxmemoryPolicy: 'volatile-lru',
    ipWhiteList,
  };
}

describe.skipIf(!netnsSupport.ok)(`nft firewall in a network namespace${netnsSupport.ok ? '' : ` (skipped: ${netnsSupport.reason})`}`, () => {
  let lab: NetnsLab;
  let fw: NftFirewall;
  let c1: NsAgent;
  let c2: NsAgent;
  let local: NsAgent;
  const signal = (): AbortSignal => AbortSignal.timeout(10_000);

  const reach = async (agent: NsAgent, port: number, host = lab.serverAddr): Promise<string> =>
    agent.call<string>({ kind: 'connect', host, port, timeoutMs: 1500 });
  const listing = (): string => lab.exec(lab.srv, 'nft', ['list', 'table', 'inet', 'jcs_redis']).stdout;

  beforeAll(async () => {
    lab = await createNetnsLab();
    const listener = lab.spawnIn(lab.srv, process.execPath, [
      '-e',
      `const net = require('node:net');
       let n = 0;
       for (const p of [${PORT_A1}, ${PORT_A2}, ${PORT_B}]) net.createServer((s) => s.end()).listen(p, '0.0.0.0', () => { if (++n === 3) console.log('listening'); });`,
    ]);
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: listener.stdout! }).once('line', () => resolve());
      listener.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
    fw = createNftFirewall({ nft: lab.nftIn(lab.srv), logger: recordingLogger(), trustedSources: [], listingTtlMs: 0 });
    [c1, c2, local] = await Promise.all([lab.agent(lab.c1), lab.agent(lab.c2), lab.agent(lab.srv)]);
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  it('probes without changing anything', async () => {
    expect(await fw.probe(signal())).toEqual({ enforced: true, reason: 'enforced by nftables (table inet jcs_redis)' });
    expect(lab.exec(lab.srv, 'nft', ['list', 'ruleset']).stdout.trim()).toBe('');
  });

  it('admits only the white list to every port of the instance, loopback included', async () => {
    const a = spec('redis-fwa', [PORT_A1, PORT_A2], [`${lab.c1Addr}/32`]);
    const started = performance.now();
    await fw.apply(a, signal());
    const applyMs = performance.now() - started;
    expect(await reach(c1, PORT_A1)).toBe('connected');
    expect(await reach(c1, PORT_A2)).toBe('connected');
    expect(await reach(c2, PORT_A1)).toBe('refused');
    expect(await reach(c2, PORT_A2)).toBe('refused');
    // A process on the server itself is filtered like anyone else (no loopback exception).
    expect(await reach(local, PORT_A1, '127.0.0.1')).toBe('refused');
    expect(await reach(local, PORT_A1, lab.serverAddr)).toBe('refused');
    // Another port of the host is untouched.
    expect(await reach(c2, PORT_B)).toBe('connected');
    expect(await fw.problems(a, signal())).toEqual([]);
    // Applying what is already there reads and writes nothing: the handles stay the same.
    const handles = lab.exec(lab.srv, 'nft', ['-a', 'list', 'chain', 'inet', 'jcs_redis', 'i_redis-fwa']).stdout;
    const again = performance.now();
    await fw.apply(a, signal());
    const unchangedMs = performance.now() - again;
    expect(lab.exec(lab.srv, 'nft', ['-a', 'list', 'chain', 'inet', 'jcs_redis', 'i_redis-fwa']).stdout).toBe(handles);
    console.log(`apply (1 entry, 2 ports): ${applyMs.toFixed(1)} ms; apply when unchanged (one listing): ${unchangedMs.toFixed(1)} ms`);
  });

  it('reports drift and repairs it by applying again', async () => {
    const a = spec('redis-fwa', [PORT_A1, PORT_A2], [`${lab.c1Addr}/32`]);
    expect(lab.exec(lab.srv, 'nft', ['flush', 'chain', 'inet', 'jcs_redis', 'i_redis-fwa']).code).toBe(0);
    expect(await reach(c2, PORT_A1)).toBe('connected');
    expect(await fw.problems(a, signal())).toEqual(['firewall: rules of chain i_redis-fwa differ from the IP white list']);
    await fw.apply(a, signal());
    expect(await reach(c2, PORT_A1)).toBe('refused');

    expect(lab.exec(lab.srv, 'nft', ['add', 'element', 'inet', 'jcs_redis', 'a_redis-fwa', `{ ${lab.c2Addr} }`]).code).toBe(0);
    expect(await fw.problems(a, signal())).toEqual(['firewall: set a_redis-fwa differs from the IP white list']);
    await fw.apply(a, signal());
    expect(await fw.problems(a, signal())).toEqual([]);

    expect(lab.exec(lab.srv, 'nft', ['delete', 'table', 'inet', 'jcs_redis']).code).toBe(0);
    expect((await fw.problems(a, signal())).length).toBe(3);
    await fw.apply(a, signal());
    expect(await reach(c2, PORT_A1)).toBe('refused');
  });

  it('keeps instances apart, and removes one without touching the other', async () => {
    const a = spec('redis-fwa', [PORT_A1, PORT_A2], [`${lab.c1Addr}/32`]);
    const b = spec('redis-fwb', [PORT_B], [`${lab.c2Addr}/32`]);
    await fw.apply(b, signal());
    expect(await reach(c1, PORT_B)).toBe('refused');
    expect(await reach(c2, PORT_B)).toBe('connected');
    expect(await reach(c2, PORT_A1)).toBe('refused');
    await fw.remove(a.id, signal());
    expect(listing()).not.toContain('redis-fwa');
    expect(await reach(c2, PORT_A1)).toBe('connected');
    expect(await reach(c1, PORT_B)).toBe('refused');
    expect(await fw.problems(b, signal())).toEqual([]);
    await fw.remove(a.id, signal()); // nothing left: no write, no error
  });

  it('opens to anyone by removing the rules; overlapping and loopback entries behave', async () => {
    const b = spec('redis-fwb', [PORT_B], ['0.0.0.0/0']);
    await fw.apply(b, signal());
    expect(listing()).not.toContain('redis-fwb');
    expect(await reach(c1, PORT_B)).toBe('connected');
    expect(await fw.problems(b, signal())).toEqual([]);

    // Nested entries would be "conflicting intervals" to nft: only the covering one is written.
    const nested = spec('redis-fwb', [PORT_B], ['10.213.0.0/16', `${lab.c1Addr}/32`]);
    await fw.apply(nested, signal());
    expect(await reach(c1, PORT_B)).toBe('connected');
    expect(await reach(c2, PORT_B)).toBe('connected');
    expect(await reach(local, PORT_B, '127.0.0.1')).toBe('refused');

    // JD: a white list of 127.0.0.1 admits no one.
    const nobody = spec('redis-fwb', [PORT_B], ['127.0.0.1/32']);
    await fw.apply(nobody, signal());
    for (const agent of [c1, c2]) expect(await reach(agent, PORT_B)).toBe('refused');
    expect(await reach(local, PORT_B, '127.0.0.1')).toBe('refused');
    expect(await fw.problems(nobody, signal())).toEqual([]);
  });

  it('applies a list of 1000 entries in one transaction, and reads it back', async () => {
    const list = [...Array.from({ length: 999 }, (_, i) => `172.${16 + (i >> 8)}.${i & 255}.0/24`), `${lab.c1Addr}/32`];
    const big = spec('redis-fwb', [PORT_B], list);
    let started = performance.now();
    await fw.apply(big, signal());
    const applyMs = performance.now() - started;
    started = performance.now();
    expect(await fw.problems(big, signal())).toEqual([]);
    const readMs = performance.now() - started;
    expect(await reach(c1, PORT_B)).toBe('connected');
    expect(await reach(c2, PORT_B)).toBe('refused');
    console.log(`apply (1000 entries): ${applyMs.toFixed(1)} ms; read back and compare: ${readMs.toFixed(1)} ms`);
    await fw.remove(big.id, signal());
    expect(listing()).not.toContain('redis-fwb');
  });

  it('a table of its own (the ephemeral mode) is deleted whole on close; the shared one is kept', async () => {
    const own = createNftFirewall({ nft: lab.nftIn(lab.srv), logger: recordingLogger(), trustedSources: [], listingTtlMs: 0, table: { name: 'jcs_redis_e_test01', own: true } });
    expect((await own.probe(signal())).reason).toBe('enforced by nftables (table inet jcs_redis_e_test01)');
    const shared = spec('redis-fwa', [PORT_A1, PORT_A2], [`${lab.c1Addr}/32`]);
    await fw.apply(shared, signal());
    await own.apply(spec('redis-fwc', [PORT_B], [`${lab.c1Addr}/32`]), signal());
    expect(await reach(c2, PORT_B)).toBe('refused');
    const tables = (): string => lab.exec(lab.srv, 'nft', ['list', 'tables']).stdout;
    expect(tables()).toBe('table inet jcs_redis\ntable inet jcs_redis_e_test01\n');

    await own.close(signal());
    expect(tables()).toBe('table inet jcs_redis\n');
    expect(await reach(c2, PORT_B)).toBe('connected');
    // The other service's rules are untouched, and still enforced.
    expect(await fw.problems(shared, signal())).toEqual([]);
    expect(await reach(c2, PORT_A1)).toBe('refused');
    await own.close(signal()); // gone already: nothing to do, no error

    await fw.close(signal());
    expect(tables()).toBe('table inet jcs_redis\n');
    await fw.remove(shared.id, signal());
  });
});
