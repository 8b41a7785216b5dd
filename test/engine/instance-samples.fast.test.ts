/**
 * The sample store the console's charts and /metrics read: bounded history, latest always fresh,
 * failovers noticed, forgotten on delete; and the engine feeds it from the observations it already makes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeObservation, Observation } from '../../src/drivers/driver.ts';
import { InstanceSamples, sampleOf, unreachableSample, type InstanceSample } from '../../src/engine/instance-samples.ts';
import { ACCOUNTS, engineHarness, type EngineHarness } from './engine-harness.ts';

const node = (shard: number, slot: 'master' | 'replica', port: number, over: Partial<NodeObservation> = {}): NodeObservation => ({
  shard,
  slot,
  role: slot,
  pid: 1,
  address: `127.0.0.1:${port}`,
  linkUp: true,
  connectedReplicas: slot === 'master' ? 1 : 0,
  maxmemoryBytes: 100,
  maxclients: 10,
  usedMemoryBytes: 40,
  replOffset: slot === 'master' ? 1000 : 900,
  connectedClients: 3,
  opsPerSec: 7,
  keyspaceHits: 11,
  keyspaceMisses: 2,
  evictedKeys: 0,
  ...over,
});

const observation = (nodes: NodeObservation[]): Observation => ({ healthy: true, problems: [], nodes, endpoint: null, effectiveMaxClients: 10, usedMemoryBytes: 40 });
const at = (ms: number, masterPort = 7000): InstanceSample => ({
  at: ms,
  nodes: [{ port: masterPort, role: 'master', shard: 0, slot: 'master', usedMemoryBytes: 1, maxmemoryBytes: 2, connectedClients: 1, opsPerSec: 0, keyspaceHits: 0, keyspaceMisses: 0, evictedKeys: 0, replOffsetLag: null, up: true }],
});

describe('InstanceSamples', () => {
  it('keeps one sample per interval for the kept span, and the latest always', () => {
    const s = new InstanceSamples({ intervalMs: 10, keepMs: 50 });
    for (let t = 0; t <= 100; t += 2) s.record('i', at(t));
    expect(s.latest('i')?.at).toBe(100);
    const all = s.history('i').map((x) => x.at);
    // Five slots of ring (50 / 10), the last of which is 100 itself.
    expect(all).toEqual([60, 70, 80, 90, 100]);
    s.record('i', at(104));
    expect(s.history('i').map((x) => x.at)).toEqual([60, 70, 80, 90, 100, 104]);
    expect(s.history('i', 90).map((x) => x.at)).toEqual([100, 104]);
    expect(s.history('i', 104)).toEqual([]);
  });

  it('ignores a sample older than the latest, forgets on request, and knows nothing of unknown ids', () => {
    const s = new InstanceSamples();
    s.record('i', at(50));
    s.record('i', at(40));
    expect(s.latest('i')?.at).toBe(50);
    expect(s.instanceIds()).toEqual(['i']);
    s.forget('i');
    expect(s.latest('i')).toBeUndefined();
    expect(s.history('i')).toEqual([]);
    expect(s.instanceIds()).toEqual([]);
  });

  it('notes a failover when a shard master stops being master', () => {
    const s = new InstanceSamples();
    s.record('i', at(1, 7000));
    s.record('i', at(2, 7000));
    expect(s.lastFailoverAt('i')).toBeUndefined();
    s.record('i', at(3, 7001));
    expect(s.lastFailoverAt('i')).toBe(3);
    const down = unreachableSample(s.latest('i'), 4);
    expect(down?.nodes.every((n) => !n.up && n.role === 'down' && n.usedMemoryBytes === null)).toBe(true);
    s.record('i', down as InstanceSample);
    expect(s.lastFailoverAt('i')).toBe(4);
    expect(unreachableSample(undefined, 5)).toBeUndefined();
  });
});

describe('sampleOf', () => {
  it('takes what the driver read, computes replica lag per shard, and nulls a down node', () => {
    const obs = observation([
      node(0, 'master', 7000),
      node(0, 'replica', 7001),
      node(1, 'master', 7002, { replOffset: 50 }),
      node(1, 'replica', 7003, { role: 'down', address: null, replOffset: null, usedMemoryBytes: null }),
    ]);
    const sample = sampleOf(obs, 123);
    expect(sample.at).toBe(123);
    expect(sample.nodes.map((n) => [n.port, n.role, n.shard, n.up, n.replOffsetLag])).toEqual([
      [7000, 'master', 0, true, null],
      [7001, 'replica', 0, true, 100],
      [7002, 'master', 1, true, null],
      [0, 'down', 1, false, null],
    ]);
    expect(sample.nodes[0]).toMatchObject({ usedMemoryBytes: 40, maxmemoryBytes: 100, connectedClients: 3, opsPerSec: 7, keyspaceHits: 11, keyspaceMisses: 2, evictedKeys: 0 });
    expect(sample.nodes[3]).toMatchObject({ usedMemoryBytes: null, maxmemoryBytes: null, connectedClients: null, keyspaceHits: null });
  });

  it('reports null counters for a driver that does not read them', () => {
    const { connectedClients: _c, opsPerSec: _o, keyspaceHits: _h, keyspaceMisses: _m, evictedKeys: _e, ...bare } = node(0, 'master', 7000);
    expect(sampleOf(observation([bare]), 1).nodes[0]).toMatchObject({ connectedClients: null, opsPerSec: null, keyspaceHits: null, up: true });
  });
});

describe('the engine feeds the samples from its health checks', () => {
  let h: EngineHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('records what observe returned, and marks every node down when an observe fails', async () => {
    h = await engineHarness();
    h.engine.start();
    const { id } = await h.create(ACCOUNTS[0] as string);
    await h.waitFor('running', async () => (await h?.status(id)) === 'running');
    const engine = h.engine;
    await h.waitFor('a health-check sample', () => engine.samples.history(id).length >= 2);
    const latest = engine.samples.latest(id);
    expect(latest?.nodes.map((n) => [n.shard, n.slot, n.role, n.up, n.usedMemoryBytes])).toEqual([
      [0, 'master', 'master', true, 1048576],
      [0, 'replica', 'replica', true, 1048576],
    ]);
    h.fake.fault(id, { fail: 'node hung', ops: ['observe'] });
    await h.waitFor('a down sample', () => engine.samples.latest(id)?.nodes.every((n) => !n.up) === true);
    expect(engine.samples.lastFailoverAt(id)).toBeGreaterThan(latest?.at ?? Infinity);
  });
});
