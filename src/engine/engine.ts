import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { PermanentDriverError, type Driver, type Endpoint, type InstanceSpec, type Observation, type StepResult } from '../drivers/driver.ts';
import { toInstanceSpec } from '../domain/instances/instance-spec.ts';
import type { PasswordSeal } from '../domain/instances/password-seal.ts';
import { transitionStatus, type InstanceStatus } from '../domain/instances/instance-status.ts';
import type { Logger } from '../logger.ts';
import { insertEvent, pruneEvents } from '../store/events-repo.ts';
import { getInstanceById, instancesInStatus, updateInstance, type InstanceRecord } from '../store/instances-repo.ts';
import type { Db } from '../store/open-store.ts';
import { pruneQuarantine } from '../store/ports-repo.ts';
import { claimDueTasks, finishTask, pendingTasks, pruneTasks, releaseTaskLease, renewTaskLeases, retryTaskLater, taskById, type TaskRow } from '../store/tasks-repo.ts';
import { HealthShares } from './health-shares.ts';
import { nodesReachOf } from './nodes-reach.ts';
import type { EngineEvent, EngineEventListener } from './engine-events.ts';
import { InstanceSamples, sampleOf, unreachableSample } from './instance-samples.ts';
import { GiveUp, TaskLeaseLost, type TaskContext, type TaskHandler } from './task-handler.ts';
import { WorkQueue, type WorkItem } from './work-queue.ts';

/** Engine settings; every field but the first four has a default. */
export interface EngineOptions {
  db: Db;
  /** A wrapped driver (drivers/wrap-driver.ts): the engine relies on its timeouts. */
  driver: Driver;
  logger: Logger;
  /** Opens the kept tenant password a proxy cluster's spec carries (domain/instances/password-seal.ts). */
  passwordSeal: PasswordSeal;
  /** One handler per task kind (handlers/default-handlers.ts). */
  handlers: readonly TaskHandler[];
  /** How often each settled instance is verified (and repaired when it drifted). Default 500 ms. */
  healthIntervalMs?: number;
  /**
   * Health checks per second at most, over all instances: with many instances each is checked less
   * often (every N / this seconds), so the cost of checking stays bounded. A node that dies is still
   * noticed at once when the driver reports it (Driver.watch). Default 40 (the service passes
   * `JCS_HEALTH_CHECKS_PER_SECOND`, 25).
   */
  maxHealthChecksPerSecond?: number;
  /** Tasks run at once. Default 4. */
  concurrency?: number;
  /** Health checks run at once, beside the tasks (never in their slots). Default 4. */
  healthConcurrency?: number;
  /** Attempts before a task gives up (the instance goes to `error`, or back for a refused resize). Default 12. */
  maxAttempts?: number;
  /** Bound of one driver step (create, repair, …). Default 30 s. */
  stepTimeoutMs?: number;
  /** Bound of one observe: a node that answers later counts as not answering. Default 5 s. */
  observeTimeoutMs?: number;
  /** How often finished tasks, old events and ended quarantines are pruned. Default 60 s. */
  housekeepingMs?: number;
  /**
   * The store's change counter (store/change-counter.ts). With it, the settled instances are read
   * again only when the store changed (or every 10 s), and a health check uses the row read with them:
   * reading 500 rows twice a second was most of the engine's idle CPU. Without it (another store, or a
   * transaction open), every turn reads as before.
   */
  storeVersion?: () => string | undefined;
  /**
   * Where each observation of a health check or a task's verification is kept as a sample (metrics, the
   * console's charts). Default: a store of its own (InstanceSamples' defaults), read through `samples`.
   */
  samples?: InstanceSamples;
  /** This process's name in task and health leases. Default: host, pid and a random suffix. */
  processId?: string;
  /**
   * How long a task (or an instance's health checks, when shared) stays this process's without a
   * renewal; renewed every third of it. A process that dies loses them this long after. Default 15 s.
   */
  leaseMs?: number;
  /**
   * Share health checks with the other service processes on the same store (PostgreSQL), each instance
   * observed by one live process. Default false: this process checks every instance (SQLite).
   */
  shareHealthChecks?: boolean;
  now?: () => number;
}

/** Health of the engine itself, for /healthz. */
export interface EngineHealth {
  ok: boolean;
  reason: string;
}

const TICK_MS = 100;
/** The settled instances are read again after this long even when the store's counter did not move. */
const SETTLED_MAX_AGE_MS = 10_000;
const TASK_RETENTION_MS = 24 * 3_600_000;
const EVENT_RETENTION_MS = 7 * 24 * 3_600_000;
const EVENTS_KEPT = 200;
/** A failing repair is tried again at most this long after the last try. */
const MAX_REPAIR_BACKOFF_MS = 15_000;

const jitter = (ms: number): number => Math.round(ms * (0.75 + Math.random() * 0.5));
const taskBackoffMs = (attempt: number): number => jitter(Math.min(5_000, 25 * 2 ** attempt));
const repairBackoffMs = (failures: number): number => jitter(Math.min(MAX_REPAIR_BACKOFF_MS, 250 * 2 ** failures));

/** Spreads each instance's health checks over the interval, so they do not all come at once. */
function phaseOf(id: string, intervalMs: number): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % intervalMs;
}

interface RepairState {
  failures: number;
  nextMs: number;
  lastError: string;
}

/**
 * The durable engine, after controller-runtime: a level-based loop over one bounded work queue. Tasks are
 * rows the API wrote in the same transaction as the status change; each runs through the handler of its
 * kind, in idempotent steps, so a crash at any point is resumed on the next start. Between tasks every
 * settled instance is verified and repaired when it drifted. Store and driver failures are logged and
 * retried with backoff; the loop itself never dies, and `health()` says when it stopped turning.
 */
export class Engine {
  private readonly o: Required<EngineOptions>;
  private readonly handlers: Map<string, TaskHandler>;
  private readonly queue: WorkQueue;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<EngineEventListener>();
  private readonly nextCheckMs = new Map<string, number>();
  private readonly repairs = new Map<string, RepairState>();
  private readonly usage = new Map<string, number>();
  private settled: { byId: Map<string, InstanceRecord>; readMs: number; version: string | undefined } = {
    byId: new Map(),
    readMs: -Infinity,
    version: undefined,
  };
  private timer: NodeJS.Timeout | null = null;
  private turning: Promise<void> | null = null;
  private again = false;
  private started = false;
  private stopped = false;
  private lastTurnMs = 0;
  private turnError: { message: string; since: number } | null = null;
  private lastHousekeepingMs = 0;
  private unwatch: (() => void) | null = null;
  /**
   * Tasks this process holds a lease on (queued or running), by id, each with the controller that aborts
   * its step when the lease is found lost.
   */
  private readonly claimed = new Map<number, AbortController>();
  private nextLeaseRenewalMs = 0;
  private readonly shares: HealthShares;

  constructor(options: EngineOptions) {
    this.o = {
      healthIntervalMs: 500,
      maxHealthChecksPerSecond: 40,
      concurrency: 4,
      healthConcurrency: 4,
      maxAttempts: 12,
      stepTimeoutMs: 30_000,
      observeTimeoutMs: 5_000,
      housekeepingMs: 60_000,
      storeVersion: () => undefined,
      samples: new InstanceSamples(),
      processId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
      leaseMs: 15_000,
      shareHealthChecks: false,
      now: Date.now,
      ...options,
    };
    this.shares = new HealthShares(this.o.db, this.o.processId, this.o.leaseMs, this.o.shareHealthChecks, () => nodesReachOf(this.o.driver.capabilities));
    this.handlers = new Map(this.o.handlers.map((h) => [h.kind, h]));
    // Every step's signal listens on this one (AbortSignal.any): many run at once, none leak.
    setMaxListeners(0, this.abort.signal);
    this.queue = new WorkQueue({
      total: this.o.concurrency + this.o.healthConcurrency,
      perLane: { task: this.o.concurrency, health: this.o.healthConcurrency },
      onError: (item, err) => this.o.logger.error({ err, instanceId: item.key, lane: item.lane }, 'engine work item failed unexpectedly'),
    });
  }

  /**
   * When processes share the store: announces this one and refuses (throws) when a live process reaches
   * the driver's nodes from elsewhere (another host or data directory with the local driver). Call once,
   * after the driver's init and before start.
   */
  async join(): Promise<void> {
    await this.shares.join(this.o.now());
  }

  /** Starts the loop. Pending tasks from before a crash run first. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.lastTurnMs = this.o.now();
    this.unwatch = this.o.driver.watch?.((instanceId) => this.checkSoon(instanceId)) ?? null;
    this.schedule(0);
  }

  /** Wakes the loop: a task was just committed. */
  notify(): void {
    if (this.started && !this.stopped) this.schedule(0);
  }

  /** Subscribes to the engine's events; returns the unsubscribe function. */
  onEvent(listener: EngineEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The driver says the instance changed by itself (a node died): check it now, not at its next turn. */
  private checkSoon(instanceId: string): void {
    if (this.stopped || !this.nextCheckMs.has(instanceId)) return;
    this.nextCheckMs.set(instanceId, 0);
    this.schedule(0);
  }

  /** The interval each instance is actually checked at: the configured one, or longer with many instances. */
  private checkIntervalMs(): number {
    return Math.max(this.o.healthIntervalMs, Math.ceil((this.settled.byId.size / this.o.maxHealthChecksPerSecond) * 1000));
  }

  /** What the instance's nodes reported at its last observations (no Redis call to read them). */
  get samples(): InstanceSamples {
    return this.o.samples;
  }

  /** Work items running and waiting in the engine's queue (tasks and health checks), for metrics. */
  workload(): { running: number; queued: number } {
    return this.queue.size;
  }

  /** Memory the instance used when last observed, in bytes (undefined when not observed yet). */
  usedMemory(instanceId: string): number | undefined {
    return this.usage.get(instanceId);
  }

  /** Ok while the loop turns and reads the store; otherwise why not. */
  health(): EngineHealth {
    if (!this.started) return { ok: false, reason: 'the engine has not started' };
    if (this.turnError) return { ok: false, reason: `the engine cannot read the store since ${new Date(this.turnError.since).toISOString()}: ${this.turnError.message}` };
    const late = this.o.now() - this.lastTurnMs;
    const bound = Math.max(5_000, 10 * this.o.healthIntervalMs);
    if (late > bound) return { ok: false, reason: `the engine loop has not turned for ${late} ms` };
    return { ok: true, reason: '' };
  }

  /** Stops taking work, lets running steps finish (up to `graceMs`), then aborts them. */
  async stop(graceMs = 8_000): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    if (this.timer) clearTimeout(this.timer);
    this.queue.clear();
    const force = setTimeout(() => this.abort.abort(new Error('engine stopping')), graceMs);
    try {
      await this.turning?.catch(() => undefined);
      await this.queue.whenIdle();
    } finally {
      clearTimeout(force);
    }
    // What this process held goes back at once, not after the lease: another process takes it now.
    const leases = [...this.claimed.keys()].map((id) => releaseTaskLease(this.o.db, this.o.processId, id));
    await Promise.all([...leases, this.shares.leave()]).catch((err: unknown) =>
      this.o.logger.warn({ err: (err as Error).message }, 'leases not given back on stop; they expire by themselves'),
    );
  }

  /** Resolves when no task is pending or running (tests and benchmarks). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.queue.size.running && (await pendingTasks(this.o.db)).length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('engine did not become idle in time');
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.turning) {
      this.again ||= ms === 0;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.turning = this.turn().finally(() => {
        this.turning = null;
        const soon = this.again;
        this.again = false;
        this.schedule(soon ? 0 : this.turnError ? Math.min(5_000, TICK_MS * 10) : TICK_MS);
      });
    }, ms);
    this.timer.unref?.();
  }

  /** One turn: queue the tasks that are due and the health checks whose time has come. */
  private async turn(): Promise<void> {
    const now = this.o.now();
    try {
      await this.renewTaskLeases(now);
      // Claim only what this process can start now: a task waiting here is one another process could run.
      const room = this.o.concurrency - this.claimed.size;
      if (room > 0) {
        const due = await claimDueTasks(this.o.db, { owner: this.o.processId, nowMs: now, leaseMs: this.o.leaseMs, limit: room });
        for (const task of due) this.offerTask(task);
      }
      if (this.settledStale(now)) {
        const version = this.o.storeVersion();
        const busy = new Set((await pendingTasks(this.o.db)).map((t) => t.instance_id));
        const rows = (await instancesInStatus(this.o.db, ['running', 'error'])).filter((r) => !busy.has(r.id));
        this.settled = { byId: new Map(rows.map((r) => [r.id, r])), readMs: now, version };
      }
      await this.shares.releaseUnsettled(new Set(this.settled.byId.keys()), (id) => this.queue.holds(id, 'health'));
      // An instance whose check runs now keeps its lease until the check ends (a repair may be under way).
      const observing = [...this.settled.byId.keys()];
      for (const id of this.shares.held()) if (!this.settled.byId.has(id) && this.queue.holds(id, 'health')) observing.push(id);
      await this.shares.refresh(now, observing);
      for (const row of this.settled.byId.values()) if (this.shares.owns(row.id)) this.offerHealthCheck(row, now);
      // A sample of an instance another process now observes would only go stale here, and be exported
      // next to that process's fresh one (/metrics, charts): keep samples of what this process checks or
      // runs a task on.
      if (this.o.shareHealthChecks) {
        for (const id of this.o.samples.instanceIds()) if (!this.shares.owns(id) && !this.queue.holds(id, 'task')) this.o.samples.forget(id);
      }
      if (now - this.lastHousekeepingMs >= this.o.housekeepingMs) {
        this.lastHousekeepingMs = now;
        await this.housekeeping(now);
      }
      if (this.turnError) this.o.logger.info({ after: this.turnError.message }, 'engine reads the store again');
      this.turnError = null;
      this.lastTurnMs = now;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.turnError?.message !== message) this.o.logger.error({ err: message }, 'engine turn failed; retrying with backoff');
      this.turnError = { message, since: this.turnError?.since ?? now };
    }
  }

  /** Whether the settled list must be read again: its interval passed and the store changed since (or may have). */
  private settledStale(now: number): boolean {
    const age = now - this.settled.readMs;
    if (age < this.o.healthIntervalMs) return false;
    const version = this.settled.version;
    return version === undefined || age >= SETTLED_MAX_AGE_MS || this.o.storeVersion() !== version;
  }

  /** The instance's row: the one read with the settled list while the store has not changed since, else read now. */
  private async currentRow(instanceId: string): Promise<InstanceRecord | undefined> {
    const version = this.settled.version;
    if (version !== undefined && this.o.storeVersion() === version) return this.settled.byId.get(instanceId);
    return getInstanceById(this.o.db, instanceId);
  }

  /**
   * Keeps this process's task leases while it lives. A lease it lost (it stalled past it and another
   * process took the task, or the task was ended by someone else) is forgotten and the task's step is
   * aborted: runTask then writes nothing more for it, so two processes never both go on with one task.
   */
  private async renewTaskLeases(now: number): Promise<void> {
    if (now < this.nextLeaseRenewalMs || this.claimed.size === 0) return;
    this.nextLeaseRenewalMs = now + Math.floor(this.o.leaseMs / 3);
    const ids = [...this.claimed.keys()];
    const held = await renewTaskLeases(this.o.db, this.o.processId, ids, now + this.o.leaseMs);
    for (const id of ids) {
      const lease = this.claimed.get(id);
      if (held.has(id) || !lease) continue;
      this.claimed.delete(id);
      lease.abort(new TaskLeaseLost(id));
      this.o.logger.warn({ task: id }, 'task lease lost (this process stalled past it); its step is aborted and another process runs the task');
    }
  }

  private offerTask(task: TaskRow & { account: string }): void {
    // Claimed again while still held here (a renewal came late and the lease ran out meanwhile): the
    // claim renewed it, and the item already queued or running goes on.
    if (this.claimed.has(task.id)) return;
    // The account is the fairness group; the task is read again when the item runs.
    const lease = new AbortController();
    this.claimed.set(task.id, lease);
    if (this.claimed.size === 1) this.nextLeaseRenewalMs = this.o.now() + Math.floor(this.o.leaseMs / 3);
    const forget = (): void => {
      if (this.claimed.get(task.id) === lease) this.claimed.delete(task.id);
    };
    const item: WorkItem = {
      key: task.instance_id,
      lane: 'task',
      group: task.account,
      run: () => this.runTask(task.id, lease.signal).finally(forget),
    };
    if (this.queue.offer(item)) return;
    forget();
    releaseTaskLease(this.o.db, this.o.processId, task.id).catch((err: unknown) =>
      this.o.logger.warn({ task: task.id, err: (err as Error).message }, 'task lease not given back; it expires by itself'),
    );
  }

  private offerHealthCheck(row: InstanceRecord, now: number): void {
    const interval = this.checkIntervalMs();
    let next = this.nextCheckMs.get(row.id);
    if (next === undefined) {
      next = now + phaseOf(row.id, interval);
      this.nextCheckMs.set(row.id, next);
    }
    if (next > now || this.queue.holds(row.id, 'health') || this.queue.holds(row.id, 'task')) return;
    this.nextCheckMs.set(row.id, Math.max(now, next + interval));
    this.queue.offer({ key: row.id, lane: 'health', group: row.account, run: () => this.checkHealth(row.id) });
  }

  private async housekeeping(now: number): Promise<void> {
    await pruneTasks(this.o.db, now - TASK_RETENTION_MS);
    await pruneEvents(this.o.db, now - EVENT_RETENTION_MS, EVENTS_KEPT);
    await pruneQuarantine(this.o.db, now);
    await this.shares.prune(now);
    for (const id of this.nextCheckMs.keys()) if (!this.settled.byId.has(id)) this.nextCheckMs.delete(id);
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.o.logger.error({ err }, 'engine event listener failed');
      }
    }
    const { type, instanceId, ...data } = event;
    insertEvent(this.o.db, { instanceId, atMs: this.o.now(), type, data }).catch((err: unknown) =>
      this.o.logger.warn({ err: (err as Error).message, type }, 'engine event not recorded'),
    );
  }

  /** A step's signal: aborts with `outer` (the engine's, or a task's that also aborts when its lease is lost) or after `ms`. */
  private signal(ms = this.o.stepTimeoutMs, outer: AbortSignal = this.abort.signal): AbortSignal {
    return AbortSignal.any([outer, AbortSignal.timeout(ms)]);
  }

  private context(taskSignal: AbortSignal): TaskContext {
    const { db, driver, logger } = this.o;
    return {
      db,
      driver,
      logger,
      now: this.o.now,
      owner: this.o.processId,
      signal: (ms) => this.signal(ms, taskSignal),
      spec: (row) => toInstanceSpec(row, this.o.passwordSeal),
      converge: (row) => this.converge(row, taskSignal),
      restartDeadNodes: (spec) => this.restartDeadNodes(spec, taskSignal),
    };
  }

  /** Brings every node up, then checks it the way a client would; throws with the problems otherwise. */
  private async converge(row: InstanceRecord, outer: AbortSignal = this.abort.signal): Promise<StepResult> {
    const spec = toInstanceSpec(row, this.o.passwordSeal);
    const result = await this.o.driver.ensurePresent(spec, this.signal(this.o.stepTimeoutMs, outer));
    await this.recordEndpoint(row, result.endpoint);
    if (result.state === 'progressing') return result;
    await this.verify(spec, outer);
    return result;
  }

  /**
   * Keeps the endpoint the driver published. Its host is kept only from a driver whose nodes any process
   * reaches (a remote driver's address for tenants); a this-host driver's is a local bind address, and
   * tenants are given the advertised host instead.
   */
  private async recordEndpoint(row: InstanceRecord, endpoint: Endpoint | null): Promise<void> {
    if (endpoint === null) return;
    const host = this.o.driver.capabilities.nodesReachableFrom === 'any-process' ? endpoint.host : null;
    if (endpoint.port !== row.endpoint_port || host !== (row.endpoint_host ?? null)) await updateInstance(this.o.db, row.id, { endpoint_port: endpoint.port, endpoint_host: host });
  }

  /**
   * A live change (settings, password) needs every node up, and the health loop leaves an instance with
   * a pending task alone: a node killed just before the change would fail every attempt until the task
   * gives up. So dead nodes are started first, with `spec`'s settings (the class still in force).
   */
  private async restartDeadNodes(spec: InstanceSpec, outer: AbortSignal): Promise<StepResult> {
    const obs = await this.o.driver.observe(spec, this.signal(this.o.observeTimeoutMs, outer));
    if (!obs.nodes.some((n) => n.role === 'down') && obs.nodes.length > 0) return { state: 'done', endpoint: obs.endpoint };
    return this.o.driver.ensurePresent(spec, this.signal(this.o.stepTimeoutMs, outer));
  }

  /** Keeps what an observation read: the memory the admission check uses, and a sample. */
  private observed(instanceId: string, obs: Observation): void {
    this.usage.set(instanceId, obs.usedMemoryBytes);
    this.o.samples.record(instanceId, sampleOf(obs, this.o.now()));
  }

  private async verify(spec: InstanceSpec, outer: AbortSignal): Promise<void> {
    const obs = await this.o.driver.observe(spec, this.signal(this.o.observeTimeoutMs, outer));
    this.observed(spec.id, obs);
    if (!obs.healthy) throw new Error(`not verified: ${obs.problems.join('; ')}`);
  }

  /** This process lost the task's lease: it writes nothing more for the task, whose new holder goes on. */
  private leaseLost(task: TaskRow, instanceId: string): void {
    this.o.logger.warn({ instanceId, task: task.id, kind: task.kind }, 'task lease lost; this process leaves the task to its new holder');
  }

  /**
   * Runs one step of the task. `leaseSignal` aborts when renewTaskLeases finds the lease lost; every
   * write that ends the step (finish, retry) is guarded with this process as the lease owner, and the
   * events and status changes after it are written only when it landed.
   */
  private async runTask(taskId: number, leaseSignal: AbortSignal): Promise<void> {
    const { db, logger, processId: owner } = this.o;
    const task = await taskById(db, taskId);
    // Finished meanwhile, or taken by another process after this one's lease ran out.
    if (!task || task.state !== 'pending' || task.lease_owner !== owner || leaseSignal.aborted) return;
    const row = await getInstanceById(db, task.instance_id);
    if (!row) {
      await finishTask(db, task.id, 'done', 'instance no longer exists', this.o.now(), owner);
      return;
    }
    const handler = this.handlers.get(task.kind);
    if (!handler) {
      if (await finishTask(db, task.id, 'failed', `no handler for task kind ${task.kind}`, this.o.now(), owner)) {
        logger.error({ instanceId: row.id, task: task.id, kind: task.kind }, 'task of an unknown kind: finished as failed');
      }
      return;
    }
    const started = this.o.now();
    // The step's own signal: the engine stopping, or this task's lease lost.
    const taskSignal = AbortSignal.any([this.abort.signal, leaseSignal]);
    setMaxListeners(0, taskSignal);
    const ctx = this.context(taskSignal);
    this.emit({ type: 'task-started', instanceId: row.id, taskId: task.id, kind: task.kind, attempt: task.attempts + 1 });
    try {
      const outcome = await handler.run(ctx, row, task);
      if (leaseSignal.aborted) return this.leaseLost(task, row.id);
      if (outcome.state === 'progressing') {
        // Not a failure: no attempt is counted.
        if (!(await retryTaskLater(db, task.id, task.attempts, outcome.reason, this.o.now() + outcome.retryAfterMs, this.o.now(), owner))) {
          return this.leaseLost(task, row.id);
        }
        this.emit({ type: 'task-progressing', instanceId: row.id, taskId: task.id, kind: task.kind, reason: outcome.reason, retryAfterMs: outcome.retryAfterMs });
        this.schedule(outcome.retryAfterMs);
        return;
      }
      if (!(await finishTask(db, task.id, 'done', '', this.o.now(), owner))) return this.leaseLost(task, row.id);
      this.repairs.delete(row.id);
      const ms = this.o.now() - started;
      logger.info({ instanceId: row.id, task: task.id, kind: task.kind, attempt: task.attempts + 1, ms }, `task ${task.kind} done`);
      this.emit({ type: 'task-finished', instanceId: row.id, taskId: task.id, kind: task.kind, ms });
    } catch (err) {
      if (leaseSignal.aborted || err instanceof TaskLeaseLost) return this.leaseLost(task, row.id);
      const message = err instanceof Error ? err.message : String(err);
      if (this.abort.signal.aborted) {
        logger.warn({ instanceId: row.id, task: task.id, kind: task.kind }, 'task interrupted by shutdown; another process or the next start resumes it');
        await releaseTaskLease(db, owner, task.id);
        return;
      }
      const attempts = task.attempts + 1;
      const final = err instanceof GiveUp || err instanceof PermanentDriverError || attempts >= this.o.maxAttempts;
      if (!final) {
        const wait = taskBackoffMs(attempts);
        if (!(await retryTaskLater(db, task.id, attempts, message, this.o.now() + wait, this.o.now(), owner))) return this.leaseLost(task, row.id);
        this.emit({ type: 'task-failed', instanceId: row.id, taskId: task.id, kind: task.kind, attempts, error: message, final });
        logger.warn({ instanceId: row.id, task: task.id, kind: task.kind, attempts, err: message }, `task ${task.kind} failed; retrying`);
        this.schedule(wait);
        return;
      }
      if (!(await finishTask(db, task.id, 'failed', message, this.o.now(), owner))) return this.leaseLost(task, row.id);
      this.emit({ type: 'task-failed', instanceId: row.id, taskId: task.id, kind: task.kind, attempts, error: message, final });
      logger.error({ instanceId: row.id, task: task.id, kind: task.kind, attempts, err: message }, `task ${task.kind} failed for good`);
      if (handler.giveUp) await handler.giveUp(ctx, row, task, message);
      else await transitionStatus(db, logger, row.id, row.status as InstanceStatus, 'error', `${task.kind} failed: ${message}`);
    }
  }

  /** Verifies one settled instance and repairs it when it drifted (dead process, lost link, wrong setting). */
  private async checkHealth(instanceId: string): Promise<void> {
    const { db, logger, driver } = this.o;
    // Current, not as listed: the list may be up to 10 s old. A task committed meanwhile changed the
    // status (changing, configuring, deleting), so its instance is left to the task.
    const row = await this.currentRow(instanceId);
    if (!row || (row.status !== 'running' && row.status !== 'error')) return;
    const spec = toInstanceSpec(row, this.o.passwordSeal);
    let problems: string[];
    try {
      const obs = await driver.observe(spec, this.signal(this.o.observeTimeoutMs));
      this.observed(row.id, obs);
      await this.recordEndpoint(row, obs.endpoint);
      if (obs.healthy) {
        if (row.status === 'error') await transitionStatus(db, logger, row.id, 'error', 'running', 'verified healthy again');
        this.repairs.delete(row.id);
        if (obs.drift && obs.drift.length > 0) {
          // Serving as it should, but behind (a rotated CA): converged in place, the status untouched.
          await this.converge(row).catch((err: unknown) =>
            logger.warn({ instanceId: row.id, drift: obs.drift, err: (err as Error).message }, 'converging drift failed; will retry'),
          );
        }
        return;
      }
      problems = obs.problems;
    } catch (err) {
      // An observe that fails or times out is itself the problem (a hung node must not hang the check).
      problems = [`the instance could not be observed: ${(err as Error).message}`];
      const down = unreachableSample(this.o.samples.latest(row.id), this.o.now());
      if (down) this.o.samples.record(row.id, down);
    }
    const summary = problems.join('; ');
    if (row.status === 'running') {
      await transitionStatus(db, logger, row.id, 'running', 'error', `unhealthy: ${summary}`);
      this.emit({ type: 'unhealthy', instanceId: row.id, problems });
    }
    const back = this.repairs.get(row.id);
    if (back && back.nextMs > this.o.now()) return;
    // Shared: a task committed since the row was read is another process's to run (it claims it once
    // this check has ended and the lease is given back): no repair beside it.
    if (this.o.shareHealthChecks && (await pendingTasks(db, row.id)).length > 0) return;
    const started = this.o.now();
    try {
      const result = await this.converge(row);
      if (result.state === 'progressing') {
        await updateInstance(db, row.id, { status_reason: `repairing: ${result.reason}` });
        this.nextCheckMs.set(row.id, this.o.now() + result.retryAfterMs);
        return;
      }
      await transitionStatus(db, logger, row.id, 'error', 'running', `repaired (${summary})`);
      this.repairs.delete(row.id);
      this.emit({ type: 'repaired', instanceId: row.id, problems, ms: this.o.now() - started });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const failures = (back?.failures ?? 0) + 1;
      this.repairs.set(row.id, { failures, nextMs: this.o.now() + repairBackoffMs(failures), lastError: message });
      const reason = `repair failed (${failures}x): ${message}`;
      if (row.status_reason !== reason) await updateInstance(db, row.id, { status_reason: reason });
      // A permanently broken instance is retried with backoff, and says so once per new error and then
      // every tenth failure, not once per try.
      if (failures === 1 || back?.lastError !== message || failures % 10 === 0) {
        logger.warn({ instanceId: row.id, failures, err: message }, 'repair failed; will retry');
        this.emit({ type: 'repair-failed', instanceId: row.id, failures, error: message });
      }
    }
  }
}
