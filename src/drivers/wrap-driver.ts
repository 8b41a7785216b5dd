import { setMaxListeners } from 'node:events';
import { PermanentDriverError, type Driver, type InstanceSpec, type PurgeFilter } from './driver.ts';
import type { DriverLogger } from './driver-logger.ts';

export interface WrapDriverOptions {
  logger: DriverLogger;
  /** Upper bound of every call, init included, in ms. The engine passes its own signal on top. */
  timeoutMs: number;
  /**
   * Upper bound of snapshotShard and replaceData, which move a whole dataset and cannot resume a
   * half-done call (a snapshot cut off at the bound would start over, and never finish). Default 10 min.
   */
  dataTimeoutMs?: number;
}

/** A call that ran past `timeoutMs` (or whose caller aborted). Retryable: the engine tries again. */
export class DriverTimeoutError extends Error {
  override readonly name = 'DriverTimeoutError';
}

/**
 * Adds to any driver what every driver needs and none should write itself: `init` once before the first
 * call (retried on the next call after a transient failure, remembered after a PermanentDriverError),
 * a per-call timeout merged with the caller's signal, one log line per call with its duration and
 * outcome (info; debug for a successful `observe`, which the engine runs constantly; warn on failure), a check that the driver builds the spec's topology, and `close` once.
 * When a call times out it rejects at once; the driver sees its signal aborted and should stop soon.
 */
export function wrapDriver(driver: Driver, opts: WrapDriverOptions): Driver {
  const { logger, timeoutMs } = opts;
  let initDone: Promise<void> | null = null;
  let closeDone: Promise<void> | null = null;

  const dataTimeoutMs = opts.dataTimeoutMs ?? 600_000;
  async function call<T>(op: string, instanceId: string | undefined, outer: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>, limitMs = timeoutMs): Promise<T> {
    const started = performance.now();
    const timeout = AbortSignal.timeout(limitMs);
    const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
    // A driver step starts or waits on a node per shard at once (8 shards and 8 proxies: 24 waits), each
    // listening on this one signal until it settles; Node's warning at 11 listeners is no leak here.
    setMaxListeners(0, signal);
    const fields = { driver: driver.name, op, ...(instanceId === undefined ? {} : { instanceId }) };
    try {
      const result = await untilAborted(fn(signal), signal, `${driver.name}.${op}${instanceId ? `(${instanceId})` : ''}`, limitMs);
      // The engine observes every instance a few times a second: a healthy observe is debug, not news.
      // A purge or an analysis calls the driver several times a second for as long as it runs: debug as well.
      const level = op === 'observe' || op.startsWith('purge') || op === 'analysisScan' ? 'debug' : 'info';
      logger[level]({ ...fields, durationMs: Math.round(performance.now() - started), outcome: 'ok' }, 'driver call');
      return result;
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      logger.warn(
        {
          ...fields,
          durationMs: Math.round(performance.now() - started),
          outcome: 'error',
          permanent: e instanceof PermanentDriverError,
          err: { name: e.name, message: e.message },
        },
        'driver call failed',
      );
      throw e;
    }
  }

  function ensureInit(signal: AbortSignal | undefined): Promise<void> {
    if (!initDone) {
      initDone = call('init', undefined, signal, (s) => driver.init(s)).catch((err: unknown) => {
        // A missing binary stays missing until an operator acts; anything else may heal, so try again.
        if (!(err instanceof PermanentDriverError)) initDone = null;
        throw err;
      });
    }
    return initDone;
  }

  function checkTopology(spec: InstanceSpec): void {
    if (!driver.topologies.includes(spec.topology)) {
      throw new PermanentDriverError(`driver ${driver.name} cannot build topology ${spec.topology}`);
    }
  }

  async function withSpec<T>(op: string, spec: InstanceSpec, signal: AbortSignal, fn: (s: AbortSignal) => Promise<T>, limitMs = timeoutMs): Promise<T> {
    await ensureInit(signal);
    checkTopology(spec);
    return call(op, spec.id, signal, fn, limitMs);
  }

  return {
    name: driver.name,
    topologies: driver.topologies,
    // A getter: the driver fills its capabilities during init.
    get capabilities() {
      return driver.capabilities;
    },
    init: (signal) => ensureInit(signal),
    ensurePresent: (spec, signal) => withSpec('ensurePresent', spec, signal, (s) => driver.ensurePresent(spec, s)),
    applySettings: (spec, signal) => withSpec('applySettings', spec, signal, (s) => driver.applySettings(spec, s)),
    setPassword: (spec, signal) => withSpec('setPassword', spec, signal, (s) => driver.setPassword(spec, s)),
    applyIpWhiteList: (spec, signal) => withSpec('applyIpWhiteList', spec, signal, (s) => driver.applyIpWhiteList(spec, s)),
    async ensureAbsent(instanceId, signal) {
      await ensureInit(signal);
      return call('ensureAbsent', instanceId, signal, (s) => driver.ensureAbsent(instanceId, s));
    },
    observe: (spec, signal) => withSpec('observe', spec, signal, (s) => driver.observe(spec, s)),
    ...(driver.purgeScan
      ? { purgeScan: (spec: InstanceSpec, shard: number, cursor: string | null, filter: PurgeFilter, count: number, signal: AbortSignal) =>
            withSpec('purgeScan', spec, signal, (s) => driver.purgeScan!(spec, shard, cursor, filter, count, s)) }
      : {}),
    ...(driver.purgeDelete
      ? { purgeDelete: (spec: InstanceSpec, shard: number, keys: readonly string[], filter: PurgeFilter, signal: AbortSignal) =>
            withSpec('purgeDelete', spec, signal, (s) => driver.purgeDelete!(spec, shard, keys, filter, s)) }
      : {}),
    ...(driver.inspectNodes ? { inspectNodes: (spec: InstanceSpec, signal: AbortSignal) => withSpec('inspectNodes', spec, signal, (s) => driver.inspectNodes!(spec, s)) } : {}),
    ...(driver.snapshotShard
      ? { snapshotShard: (spec: InstanceSpec, shard: number, dest: string, signal: AbortSignal) => withSpec('snapshotShard', spec, signal, (s) => driver.snapshotShard!(spec, shard, dest, s), dataTimeoutMs) }
      : {}),
    ...(driver.replaceData
      ? { replaceData: (spec: InstanceSpec, files: readonly string[], signal: AbortSignal) => withSpec('replaceData', spec, signal, (s) => driver.replaceData!(spec, files, s), dataTimeoutMs) }
      : {}),
    ...(driver.openAfterRestore
      ? { openAfterRestore: (spec: InstanceSpec, signal: AbortSignal) => withSpec('openAfterRestore', spec, signal, (s) => driver.openAfterRestore!(spec, s)) }
      : {}),
    ...(driver.watch ? { watch: (listener: (instanceId: string) => void) => driver.watch!(listener) } : {}),
    ...(driver.changeProgress ? { changeProgress: (instanceId: string) => driver.changeProgress!(instanceId) } : {}),
    ...(driver.analysisScan
      ? { analysisScan: (spec: InstanceSpec, shard: number, cursor: string | null, count: number, opts: { frequency: boolean }, signal: AbortSignal) =>
            withSpec('analysisScan', spec, signal, (s) => driver.analysisScan!(spec, shard, cursor, count, opts, s)) }
      : {}),
    ...(driver.commandStats ? { commandStats: (spec: InstanceSpec, signal: AbortSignal) => withSpec('commandStats', spec, signal, (s) => driver.commandStats!(spec, s)) } : {}),
    close() {
      closeDone ??= call('close', undefined, undefined, () => driver.close());
      return closeDone;
    },
  };
}

/** Settles with `work`, or rejects as soon as `signal` aborts, whichever comes first. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, what: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const reason: unknown = signal.reason;
      const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError';
      reject(timedOut ? new DriverTimeoutError(`${what} timed out after ${timeoutMs} ms`) : reason instanceof Error ? reason : new DriverTimeoutError(`${what} aborted`));
    };
    if (signal.aborted) {
      // The call was started anyway: its own rejection (it saw the same aborted signal) is expected.
      work.catch(() => undefined);
      return onAbort();
    }
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
