import { describe, expect, it } from 'vitest';
import { PermanentDriverError, type Driver, type InstanceSpec, type Observation } from '../../src/drivers/driver.ts';
import { DriverTimeoutError, wrapDriver } from '../../src/drivers/wrap-driver.ts';
import { recordingLogger } from './local-harness.ts';

const spec: InstanceSpec = {
  id: 'redis-wrap1',
  topology: 'master-slave',
  shardCount: 1,
  memoryMbPerShard: 64,
  maxClients: 100,
  passwordSha256: null,
  databases: 16,
  maxmemoryPolicy: 'volatile-lru',
  ipWhiteList: ['0.0.0.0/0'],
};

const observation: Observation = { healthy: true, problems: [], nodes: [], endpoint: null, effectiveMaxClients: 100, usedMemoryBytes: 0 };

/** A scripted driver for the wrapper's own behaviour; real drivers are tested by the contract suite. */
function scriptedDriver(script: { init?: () => Promise<void>; ensurePresent?: (s: AbortSignal) => Promise<void> }) {
  const calls: string[] = [];
  const driver: Driver = {
    name: 'scripted',
    topologies: ['master-slave'],
    capabilities: { ipWhiteList: { enforced: false, reason: 'scripted' } },
    init: async () => {
      calls.push('init');
      await script.init?.();
    },
    ensurePresent: async (_spec, signal) => {
      calls.push('ensurePresent');
      await script.ensurePresent?.(signal);
      return { state: 'done', endpoint: null };
    },
    ensureAbsent: async () => {
      calls.push('ensureAbsent');
      return { state: 'done', endpoint: null };
    },
    observe: async () => {
      calls.push('observe');
      return observation;
    },
    applySettings: async () => {
      calls.push('applySettings');
    },
    setPassword: async () => {
      calls.push('setPassword');
    },
    applyIpWhiteList: async () => {
      calls.push('applyIpWhiteList');
    },
    close: async () => {
      calls.push('close');
    },
  };
  return { driver, calls };
}

const signal = (): AbortSignal => AbortSignal.timeout(5_000);

describe('wrapDriver', () => {
  it('bounds snapshotShard and replaceData by the data bound, every other call by the call bound', async () => {
    const slow = (): Promise<void> => new Promise((r) => setTimeout(r, 200));
    const { driver } = scriptedDriver({ ensurePresent: slow });
    driver.snapshotShard = async () => {
      await slow();
      return { source: 'replica', reason: '', bytes: 1, keys: 0, sha256: '', usedMemoryBytes: 0 };
    };
    driver.replaceData = slow;
    const wrapped = wrapDriver(driver, { logger: recordingLogger(), timeoutMs: 50, dataTimeoutMs: 5_000 });
    await expect(wrapped.snapshotShard!(spec, 0, '/nonexistent', signal())).resolves.toMatchObject({ source: 'replica' });
    await expect(wrapped.replaceData!(spec, [], signal())).resolves.toBeUndefined();
    await expect(wrapped.ensurePresent(spec, signal())).rejects.toBeInstanceOf(DriverTimeoutError);
  });

  it('runs init once, before the first call, even for concurrent calls', async () => {
    const { driver, calls } = scriptedDriver({});
    const wrapped = wrapDriver(driver, { logger: recordingLogger(), timeoutMs: 1_000 });
    await Promise.all([wrapped.ensurePresent(spec, signal()), wrapped.observe(spec, signal()), wrapped.ensureAbsent('x', signal())]);
    await wrapped.setPassword(spec, signal());
    expect(calls[0]).toBe('init');
    expect(calls.filter((c) => c === 'init')).toHaveLength(1);
    expect(calls).toHaveLength(5);
  });

  it('retries a transient init failure and remembers a permanent one', async () => {
    let failures = 1;
    const transient = scriptedDriver({
      init: async () => {
        if (failures-- > 0) throw new Error('data dir busy');
      },
    });
    const w1 = wrapDriver(transient.driver, { logger: recordingLogger(), timeoutMs: 1_000 });
    await expect(w1.ensurePresent(spec, signal())).rejects.toThrow('data dir busy');
    await w1.ensurePresent(spec, signal());
    expect(transient.calls.filter((c) => c === 'init')).toHaveLength(2);

    const permanent = scriptedDriver({
      init: async () => {
        throw new PermanentDriverError('redis-server not found');
      },
    });
    const w2 = wrapDriver(permanent.driver, { logger: recordingLogger(), timeoutMs: 1_000 });
    await expect(w2.ensurePresent(spec, signal())).rejects.toBeInstanceOf(PermanentDriverError);
    await expect(w2.observe(spec, signal())).rejects.toBeInstanceOf(PermanentDriverError);
    expect(permanent.calls).toEqual(['init']);
  });

  it('times a call out and aborts the signal the driver sees', async () => {
    let seen: AbortSignal | null = null;
    const { driver } = scriptedDriver({
      ensurePresent: (s) => {
        seen = s;
        return new Promise(() => undefined); // never settles: the wrapper must not wait for it
      },
    });
    const logger = recordingLogger();
    const wrapped = wrapDriver(driver, { logger, timeoutMs: 50 });
    const started = Date.now();
    const err = await wrapped.ensurePresent(spec, signal()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverTimeoutError);
    expect((err as Error).message).toBe('scripted.ensurePresent(redis-wrap1) timed out after 50 ms');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect((seen as AbortSignal | null)?.aborted).toBe(true);
    expect(logger.lines.some((l) => /driver call failed.*"op":"ensurePresent".*"outcome":"error"/.test(l))).toBe(true);
  });

  it('passes the caller\'s abort through', async () => {
    const { driver } = scriptedDriver({ ensurePresent: () => new Promise(() => undefined) });
    const wrapped = wrapDriver(driver, { logger: recordingLogger(), timeoutMs: 10_000 });
    const controller = new AbortController();
    const pending = wrapped.ensurePresent(spec, controller.signal);
    setTimeout(() => controller.abort(new Error('engine shutting down')), 10);
    await expect(pending).rejects.toThrow('engine shutting down');
  });

  it('logs one line per call with duration and outcome', async () => {
    const { driver } = scriptedDriver({});
    const logger = recordingLogger();
    const wrapped = wrapDriver(driver, { logger, timeoutMs: 1_000 });
    await wrapped.observe(spec, signal());
    const lines = logger.lines.filter((l) => l.includes('driver call'));
    expect(lines).toHaveLength(2); // init, observe
    expect(lines[1]).toMatch(/"driver":"scripted","op":"observe","instanceId":"redis-wrap1","durationMs":\d+,"outcome":"ok"/);
  });

  it('refuses a topology the driver does not build, without calling it', async () => {
    const { driver, calls } = scriptedDriver({});
    const wrapped = wrapDriver(driver, { logger: recordingLogger(), timeoutMs: 1_000 });
    await expect(wrapped.ensurePresent({ ...spec, topology: 'native-cluster' }, signal())).rejects.toBeInstanceOf(
      PermanentDriverError,
    );
    expect(calls).toEqual(['init']);
  });

  it('closes once', async () => {
    const { driver, calls } = scriptedDriver({});
    const wrapped = wrapDriver(driver, { logger: recordingLogger(), timeoutMs: 1_000 });
    await Promise.all([wrapped.close(), wrapped.close()]);
    expect(calls).toEqual(['close']);
  });
});
