/**
 * An in-memory driver for engine tests and benchmarks: the seam without processes or ports, with fault
 * injection per instance (slow, hung, failing, progressing, unhealthy). Never a product default: the
 * real-Redis tests run the local driver.
 */
import type { Driver, Endpoint, InstanceSpec, NodeObservation, Observation, StepResult } from '../../src/drivers/driver.ts';
import { PermanentDriverError } from '../../src/drivers/driver.ts';
import { untilAborted } from '../../src/drivers/wrap-driver.ts';

export type FakeOp = 'ensurePresent' | 'ensureAbsent' | 'observe' | 'applySettings' | 'setPassword' | 'applyIpWhiteList' | 'replaceData' | 'openAfterRestore';

/** What an instance's calls do, until changed. All optional. */
export interface Fault {
  /** Every call of these ops (all when absent) waits this long first. */
  delayMs?: number;
  /** Every call of these ops never answers (until its signal aborts). */
  hang?: boolean;
  /** Every call of these ops made while this fault is set waits for this promise first (or its signal). */
  gate?: Promise<unknown>;
  /** The next `failTimes` calls (default: all) throw `fail`. */
  fail?: string;
  failTimes?: number;
  /** Throw PermanentDriverError instead. */
  permanent?: boolean;
  /** ensurePresent answers `progressing` this many times first. */
  progressingTimes?: number;
  progressingRetryMs?: number;
  /** observe reports these problems (the instance is unhealthy) until ensurePresent runs. */
  unhealthy?: string[];
  /** Which ops the fault applies to (default: all). */
  ops?: FakeOp[];
}

export interface FakeCall {
  op: FakeOp;
  instanceId: string;
  atMs: number;
}

interface Instance {
  spec: InstanceSpec;
  endpoint: Endpoint;
  incarnation: number;
  problems: string[];
}

export class FakeDriver implements Driver {
  readonly name = 'fake';
  readonly topologies = ['master-slave', 'native-cluster'] as const;
  readonly capabilities = { ipWhiteList: { enforced: true, reason: '' } };
  readonly calls: FakeCall[] = [];
  /** Calls running now, and the most seen at once, per op. */
  readonly running = new Map<FakeOp, number>();
  readonly maxRunning = new Map<FakeOp, number>();
  /** Calls that ended because their signal aborted, per op. */
  readonly aborted = new Map<FakeOp, number>();
  private readonly instances = new Map<string, Instance>();
  private readonly faults = new Map<string, Fault>();
  private nextPort = 30_000;
  /** The files of each instance's latest replaceData. */
  readonly restored = new Map<string, string[]>();

  /** Sets (or clears, with undefined) the fault of an instance. */
  fault(instanceId: string, fault: Fault | undefined): void {
    if (fault) this.faults.set(instanceId, { ...fault });
    else this.faults.delete(instanceId);
  }

  /** Makes a live instance report problems until the next ensurePresent (a node "died"). */
  breakInstance(instanceId: string, problems: string[]): void {
    const inst = this.instances.get(instanceId);
    if (inst) inst.problems = problems;
  }

  exists(instanceId: string): boolean {
    return this.instances.has(instanceId);
  }

  specOf(instanceId: string): InstanceSpec | undefined {
    return this.instances.get(instanceId)?.spec;
  }

  callsOf(instanceId: string, op?: FakeOp): FakeCall[] {
    return this.calls.filter((c) => c.instanceId === instanceId && (op === undefined || c.op === op));
  }

  init(): Promise<void> {
    return Promise.resolve();
  }

  ensurePresent(spec: InstanceSpec, signal: AbortSignal): Promise<StepResult> {
    return this.call('ensurePresent', spec.id, signal, () => {
      const f = this.faults.get(spec.id);
      if (f?.progressingTimes && f.progressingTimes > 0) {
        f.progressingTimes--;
        return { state: 'progressing', retryAfterMs: f.progressingRetryMs ?? 50, reason: 'fake: still syncing', endpoint: null };
      }
      const inst = this.instances.get(spec.id);
      if (inst) {
        inst.spec = spec;
        inst.problems = [];
        return { state: 'done', endpoint: inst.endpoint };
      }
      const endpoint = { host: '127.0.0.1', port: spec.requestedPort ?? this.nextPort++ };
      this.instances.set(spec.id, { spec, endpoint, incarnation: 1, problems: [] });
      return { state: 'done', endpoint };
    });
  }

  ensureAbsent(instanceId: string, signal: AbortSignal): Promise<StepResult> {
    return this.call('ensureAbsent', instanceId, signal, () => {
      this.instances.delete(instanceId);
      return { state: 'done', endpoint: null };
    });
  }

  observe(spec: InstanceSpec, signal: AbortSignal): Promise<Observation> {
    return this.call('observe', spec.id, signal, () => {
      const inst = this.instances.get(spec.id);
      const f = this.faults.get(spec.id);
      const problems = !inst ? [`instance ${spec.id} does not exist`] : [...inst.problems, ...(f?.unhealthy ?? [])];
      if (inst && inst.spec.passwordSha256 !== spec.passwordSha256) problems.push('password differs from the spec');
      if (inst && inst.spec.memoryMbPerShard !== spec.memoryMbPerShard) problems.push('settings differ');
      const nodes: NodeObservation[] = Array.from({ length: spec.shardCount }, (_, shard) =>
        (['master', 'replica'] as const).map((slot) => ({
          shard,
          slot,
          role: inst && inst.problems.length === 0 ? slot : ('down' as const),
          pid: inst ? inst.incarnation : null,
          address: null,
          linkUp: inst !== undefined,
          connectedReplicas: slot === 'master' ? 1 : 0,
          maxmemoryBytes: spec.memoryMbPerShard * 1048576,
          maxclients: spec.maxClients,
          usedMemoryBytes: 1048576,
          replOffset: 0,
        })),
      ).flat();
      return { healthy: problems.length === 0, problems, nodes, endpoint: inst?.endpoint ?? null, effectiveMaxClients: spec.maxClients, usedMemoryBytes: 1048576 * spec.shardCount };
    });
  }

  applySettings(spec: InstanceSpec, signal: AbortSignal): Promise<void> {
    return this.call('applySettings', spec.id, signal, () => this.update(spec));
  }

  setPassword(spec: InstanceSpec, signal: AbortSignal): Promise<void> {
    return this.call('setPassword', spec.id, signal, () => this.update(spec));
  }

  applyIpWhiteList(spec: InstanceSpec, signal: AbortSignal): Promise<void> {
    return this.call('applyIpWhiteList', spec.id, signal, () => this.update(spec));
  }

  /** Records the files a restore brought (see `restored`); nothing else happens to the fake instance. */
  replaceData(spec: InstanceSpec, files: readonly string[], signal: AbortSignal): Promise<void> {
    return this.call('replaceData', spec.id, signal, () => {
      this.update(spec);
      this.restored.set(spec.id, [...files]);
    });
  }

  openAfterRestore(spec: InstanceSpec, signal: AbortSignal): Promise<void> {
    return this.call('openAfterRestore', spec.id, signal, () => undefined);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private update(spec: InstanceSpec): void {
    const inst = this.instances.get(spec.id);
    if (!inst) throw new Error(`instance ${spec.id} does not exist`);
    inst.spec = spec;
  }

  private async call<T>(op: FakeOp, instanceId: string, signal: AbortSignal, fn: () => T): Promise<T> {
    this.calls.push({ op, instanceId, atMs: performance.now() });
    this.running.set(op, (this.running.get(op) ?? 0) + 1);
    this.maxRunning.set(op, Math.max(this.maxRunning.get(op) ?? 0, this.running.get(op)!));
    try {
      const f = this.faults.get(instanceId);
      const applies = f && (!f.ops || f.ops.includes(op));
      // A fake call honours its signal, as every driver call should.
      if (applies && f.gate) await untilAborted(f.gate, signal, op, 0);
      if (applies && f.delayMs) await untilAborted(new Promise((r) => setTimeout(r, f.delayMs)), signal, op, 0);
      if (applies && f.hang) await untilAborted(new Promise(() => undefined), signal, op, 0);
      if (applies && f.fail !== undefined && (f.failTimes === undefined || f.failTimes > 0)) {
        if (f.failTimes !== undefined) f.failTimes--;
        throw f.permanent ? new PermanentDriverError(f.fail) : new Error(f.fail);
      }
      signal.throwIfAborted();
      return fn();
    } catch (err) {
      if (signal.aborted) this.aborted.set(op, (this.aborted.get(op) ?? 0) + 1);
      throw err;
    } finally {
      this.running.set(op, this.running.get(op)! - 1);
    }
  }
}
