import type { Driver, InstanceSpec } from '../drivers/driver.ts';
import { PermanentDriverError, PortInUseError } from '../drivers/driver.ts';
import { isInternalRole, portRoles, PUBLISHED_ROLE, toInstanceSpec } from '../domain/instances/instance-spec.ts';
import { releaseRetiredPorts, restoreRetiredPorts } from '../store/port-reservations.ts';
import { transitionStatus, type InstanceStatus } from '../domain/instances/instance-status.ts';
import type { ResizePayload, TaskKind } from '../domain/instances/instance-service.ts';
import type { Logger } from '../logger.ts';
import type { Db } from '../store/open-store.ts';
import { deleteInstanceRow, getInstanceById, instancesInStatus, updateInstance, type InstanceRecord } from '../store/instances-repo.ts';
import { portsOf, releasePorts, reservePorts, type PortPolicy } from '../store/ports-repo.ts';
import { dueTasks, finishTask, pendingTasks, retryTaskLater, type TaskRow } from '../store/tasks-repo.ts';

/** Engine settings; every field has a default. */
export interface EngineOptions {
  db: Db;
  /** A wrapped driver (drivers/wrap-driver.ts): the engine relies on its timeouts. */
  driver: Driver;
  logger: Logger;
  /** Port range and quarantine of released ports. */
  ports: PortPolicy;
  /** How often running instances are verified and repaired. Default 500 ms. */
  healthIntervalMs?: number;
  /** Instances worked on at once. Default 4. */
  concurrency?: number;
  /** Attempts before a task gives up and puts the instance in `error`. Default 12 (about 30 s). */
  maxAttempts?: number;
  now?: () => number;
}

/** Thrown by a step when it must not be retried (the instance goes to `error` at once). */
class GiveUp extends Error {}

/** A client port of the instance is held by another process: retried, and the reason says which. */
class PortHeld extends Error {}

/** How long a port found held by a foreign process is avoided when nodes are moved. */
const FOREIGN_PORT_MEMORY_MS = 5 * 60_000;

const backoffMs = (attempt: number): number => Math.min(5_000, 25 * 2 ** attempt) * (0.75 + Math.random() * 0.5);

/**
 * The durable engine. Tasks are rows written by the API in the same transaction as the status
 * change; this loop runs them in order per instance, in idempotent steps, so a crash at any point is
 * resumed on the next start (pending rows simply run again). Between tasks it verifies every settled
 * instance and repairs drift (a dead master or replica), level-based like a Kubernetes controller.
 */
export class Engine {
  private readonly o: Required<EngineOptions>;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly repairBackoff = new Map<string, { failures: number; nextMs: number }>();
  /** Ports a foreign process was found on, and when: re-allocation avoids them for a while. */
  private readonly foreignPorts = new Map<number, number>();
  private readonly abort = new AbortController();
  private wake: (() => void) | null = null;
  private stopped = false;
  private loopDone: Promise<void> | null = null;
  private lastHealthMs = 0;

  constructor(options: EngineOptions) {
    this.o = {
      healthIntervalMs: 500,
      concurrency: 4,
      maxAttempts: 12,
      now: Date.now,
      ...options,
    };
  }

  /** Starts the loop. Pending tasks from before a crash run first. */
  start(): void {
    if (this.loopDone) return;
    this.loopDone = this.upgradePorts().then(() => this.loop()).catch((err: unknown) => {
      this.o.logger.fatal({ err }, 'engine loop crashed');
      throw err;
    });
  }

  /** Wakes the loop: a task was just committed. */
  notify(): void {
    this.wake?.();
  }

  /** Stops taking work, lets in-flight steps finish (up to `graceMs`), then aborts them. */
  async stop(graceMs = 8_000): Promise<void> {
    this.stopped = true;
    this.notify();
    const timer = setTimeout(() => this.abort.abort(new Error('engine stopping')), graceMs);
    try {
      await this.loopDone?.catch(() => undefined);
      await Promise.allSettled([...this.inFlight.values()]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when no task is pending or running (tests and benchmarks). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.inFlight.size === 0 && (await pendingTasks(this.o.db)).length === 0) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('engine did not become idle in time');
  }

  /**
   * Instances created by an earlier version have no internal (TLS, bus) ports reserved: reserve them, so
   * the driver can move their nodes onto TLS links on its next pass.
   */
  private async upgradePorts(): Promise<void> {
    const rows = await instancesInStatus(this.o.db, ['creating', 'running', 'error', 'changing', 'configuring']);
    for (const row of rows) {
      await this.o.db.transaction().execute(async (trx) => {
        const have = new Set((await portsOf(trx, row.id)).map((p) => p.role));
        const missing = portRoles(row.shard_number, row.instance_type).filter((r) => !have.has(r));
        if (missing.length === 0) return;
        if (!(await reservePorts(trx, row.id, missing, this.o.ports.range, this.o.now()))) {
          this.o.logger.error({ instanceId: row.id, missing }, 'no free instance ports for the internal TLS ports of an existing instance');
          return;
        }
        this.o.logger.info({ instanceId: row.id, roles: missing }, 'internal ports reserved for an instance of an earlier version');
      });
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const now = this.o.now();
      const due = await dueTasks(this.o.db, now, this.o.concurrency * 2);
      for (const task of due) {
        if (this.inFlight.size >= this.o.concurrency) break;
        if (this.inFlight.has(task.instance_id)) continue;
        this.track(task.instance_id, () => this.runTask(task));
      }
      if (now - this.lastHealthMs >= this.o.healthIntervalMs) {
        this.lastHealthMs = now;
        await this.scheduleHealthChecks(now);
      }
      await this.sleep(due.length > 0 ? 200 : this.o.healthIntervalMs);
    }
  }

  private track(instanceId: string, job: () => Promise<void>): void {
    const p = job()
      .catch((err: unknown) => this.o.logger.error({ err, instanceId }, 'engine job failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(instanceId);
        this.notify();
      });
    this.inFlight.set(instanceId, p);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }

  private signal(ms = 30_000): AbortSignal {
    return AbortSignal.any([this.abort.signal, AbortSignal.timeout(ms)]);
  }

  private async spec(row: InstanceRecord): Promise<InstanceSpec> {
    return toInstanceSpec(row, await portsOf(this.o.db, row.id));
  }

  /** Brings every node up, then checks it the way a client would; throws with the problems otherwise. */
  private async converge(row: InstanceRecord): Promise<void> {
    const spec = await this.spec(row);
    try {
      await this.o.driver.ensurePresent(spec, this.signal());
    } catch (err) {
      if (err instanceof PortInUseError) await this.moveOffPort(row.id, err.port);
      throw err;
    }
    await this.verify(spec);
  }

  /**
   * A live change (applySettings, setPassword) needs every node up, and the health loop leaves an
   * instance with a pending task alone: a node killed just before the change would fail every attempt
   * until the task gives up, the instance down all that time. So dead nodes are started first, with
   * `spec`'s settings (the class still in force); healthy nodes are only read.
   */
  private async restartDeadNodes(instanceId: string, spec: InstanceSpec): Promise<void> {
    const obs = await this.o.driver.observe(spec, this.signal(5_000));
    if (!obs.nodes.some((n) => n.role === 'down')) return;
    try {
      await this.o.driver.ensurePresent(spec, this.signal());
    } catch (err) {
      if (err instanceof PortInUseError) await this.moveOffPort(instanceId, err.port);
      throw err;
    }
  }

  private async verify(spec: InstanceSpec): Promise<void> {
    const obs = await this.o.driver.observe(spec, this.signal(5_000));
    if (!obs.healthy) throw new Error(`not verified: ${obs.problems.join('; ')}`);
  }

  /**
   * A foreign process holds one of our ports. Internal ports (TLS, bus) and the client port of a
   * master-slave replica are the service's business: the node gets another one. A client port that clients
   * know stays where it is, however long it is held: the published endpoint never moves to let a squatter
   * keep the clients (the instance shows `error` naming the port until it is free). Before an instance has
   * ever run, nobody knows its ports yet, so any of them may move.
   */
  private async moveOffPort(instanceId: string, port: number): Promise<void> {
    // Every port found held lately is avoided, not only this one: with two held ports, a node moved off
    // one would otherwise be handed the other just released, and back, for ever.
    const now = this.o.now();
    this.foreignPorts.set(port, now);
    for (const [p, seen] of this.foreignPorts) if (now - seen > FOREIGN_PORT_MEMORY_MS) this.foreignPorts.delete(p);
    const instance = await getInstanceById(this.o.db, instanceId);
    await this.o.db.transaction().execute(async (trx) => {
      const row = (await portsOf(trx, instanceId)).find((p) => p.port === port);
      if (!row || !instance) return;
      const movable =
        instance.status === 'creating' || isInternalRole(row.role) || (instance.instance_type === 'master-slave' && row.role !== PUBLISHED_ROLE);
      if (!movable) {
        const what = row.role === PUBLISHED_ROLE ? 'published port' : 'client port';
        throw new PortHeld(`${what} ${port} is held by another process; the instance resumes when it is free`);
      }
      // The squatter's port is not quarantined: it is not ours to hand out again anyway.
      await trx.deleteFrom('ports').where('instance_id', '=', instanceId).where('port', '=', port).execute();
      const got = await reservePorts(trx, instanceId, [row.role], this.o.ports.range, now, new Set(this.foreignPorts.keys()));
      if (!got) throw new GiveUp(`port ${port} is taken by another process and no other instance port is free`);
      this.o.logger.warn({ instanceId, role: row.role, from: port, to: got[0]!.port }, 'port held by a foreign process; moved the node');
    });
  }

  private async runTask(task: TaskRow): Promise<void> {
    const { db, logger } = this.o;
    const row = await getInstanceById(db, task.instance_id);
    if (!row) {
      await finishTask(db, task.id, 'done', 'instance no longer exists', this.o.now());
      return;
    }
    const kind = task.kind as TaskKind;
    const started = this.o.now();
    try {
      await this.step(kind, row, task);
      await finishTask(db, task.id, 'done', '', this.o.now());
      this.repairBackoff.delete(row.id);
      logger.info({ instanceId: row.id, task: task.id, kind, attempt: task.attempts + 1, ms: this.o.now() - started }, `task ${kind} done`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const attempts = task.attempts + 1;
      if (this.abort.signal.aborted) {
        logger.warn({ instanceId: row.id, task: task.id, kind }, 'task interrupted by shutdown; it resumes on the next start');
        return;
      }
      const permanent = err instanceof GiveUp || err instanceof PermanentDriverError || attempts >= this.o.maxAttempts;
      if (!permanent) {
        await retryTaskLater(db, task.id, attempts, message, this.o.now() + backoffMs(attempts), this.o.now());
        logger.warn({ instanceId: row.id, task: task.id, kind, attempts, err: message }, `task ${kind} failed; retrying`);
        return;
      }
      logger.error({ instanceId: row.id, task: task.id, kind, attempts, err: message }, `task ${kind} failed for good`);
      await this.failTask(kind, row, task, message);
    }
  }

  private async step(kind: TaskKind, row: InstanceRecord, task: TaskRow): Promise<void> {
    const { db, logger, driver } = this.o;
    switch (kind) {
      case 'create':
        await this.converge(row);
        await transitionStatus(db, logger, row.id, 'creating', 'running', 'created and verified');
        return;
      case 'resize': {
        const spec = await this.spec(row);
        const { previous } = JSON.parse(task.payload) as ResizePayload;
        // Same nodes, new settings: applied live first. A reshard or type change adds nodes that do not
        // run yet; converge (the driver's level-based ensurePresent) starts them, moves the data and
        // applies the settings, and resumes where it stopped after a crash.
        const sameNodes = previous.shard_number === row.shard_number && (previous.instance_type ?? row.instance_type) === row.instance_type;
        if (sameNodes) {
          const before = { ...row, ...previous, instance_type: previous.instance_type ?? row.instance_type };
          await this.restartDeadNodes(row.id, toInstanceSpec(before, await portsOf(db, row.id)));
          const obs = await driver.observe(spec, this.signal(5_000));
          const limit = spec.memoryMbPerShard * spec.shards.length * 1024 * 1024;
          if (obs.usedMemoryBytes > limit) {
            throw new GiveUp(`the instance uses ${Math.ceil(obs.usedMemoryBytes / 1048576)} MB, more than the new class's ${limit / 1048576} MB`);
          }
          await driver.applySettings(spec, this.signal());
        }
        // A move longer than one attempt's timeout is resumed by the next attempt where it stopped.
        await this.converge(row);
        await releaseRetiredPorts(db, row.id, this.o.ports, this.o.now());
        await transitionStatus(db, logger, row.id, 'changing', 'running', `class ${row.instance_class} applied`);
        return;
      }
      case 'password': {
        const spec = await this.spec(row);
        await this.restartDeadNodes(row.id, spec);
        await driver.setPassword(spec, this.signal());
        await this.converge(row);
        await transitionStatus(db, logger, row.id, 'configuring', 'running', 'password applied');
        return;
      }
      // Level-based: applies the list stored now (a later change's own task finds it already applied);
      // the status never changed.
      case 'ipWhiteList':
        await driver.applyIpWhiteList(await this.spec(row), this.signal());
        return;
      case 'delete':
        await driver.ensureAbsent(row.id, this.signal());
        await db.transaction().execute(async (trx) => {
          await finishTask(trx, task.id, 'done', '', this.o.now());
          // Quarantined: a stale client of this instance must not reach the next instance on its ports.
          await releasePorts(trx, row.id, this.o.now() + this.o.ports.quarantineMs);
          await deleteInstanceRow(trx, row.id);
        });
        logger.info({ instanceId: row.id }, `instance ${row.id}: deleting → gone`);
        return;
    }
  }

  /** A task that cannot succeed: undo what can be undone, else put the instance in `error` with the reason. */
  private async failTask(kind: TaskKind, row: InstanceRecord, task: TaskRow, message: string): Promise<void> {
    const { db, logger } = this.o;
    await db.transaction().execute(async (trx) => {
      await finishTask(trx, task.id, 'failed', message, this.o.now());
      if (kind === 'resize') {
        // The old class is still what runs: restore it and go back to running, with the reason kept.
        const { previous } = JSON.parse(task.payload) as ResizePayload;
        await updateInstance(trx, row.id, previous);
        // A refused reshard or type change: the old nodes get their ports back; the driver moves the
        // data back to them on the next converge (its ensurePresent is level-based).
        const previousType = previous.instance_type ?? row.instance_type;
        await restoreRetiredPorts(trx, row.id, portRoles(previous.shard_number, previousType), this.o.ports, this.o.now());
        await transitionStatus(trx, logger, row.id, 'changing', 'running', `resize refused: ${message}`);
        return;
      }
      const from = row.status as InstanceStatus;
      await transitionStatus(trx, logger, row.id, from, 'error', `${kind} failed: ${message}`);
    });
    if (kind === 'resize') {
      // Re-apply the restored class in case part of the new one reached some node.
      const restored = await getInstanceById(db, row.id);
      if (restored) await this.converge(restored).catch(() => undefined);
    }
  }

  /** Verifies settled instances and repairs those that drifted (dead process, lost link, wrong setting). */
  private async scheduleHealthChecks(now: number): Promise<void> {
    const rows = await instancesInStatus(this.o.db, ['running', 'error']);
    if (rows.length === 0) return;
    const busy = new Set((await pendingTasks(this.o.db)).map((t) => t.instance_id));
    for (const row of rows) {
      if (this.inFlight.has(row.id) || busy.has(row.id)) continue;
      const back = this.repairBackoff.get(row.id);
      if (back && back.nextMs > now) continue;
      this.track(row.id, () => this.checkHealth(row));
    }
  }

  private async checkHealth(row: InstanceRecord): Promise<void> {
    const { db, logger, driver } = this.o;
    const spec = await this.spec(row);
    const obs = await driver.observe(spec, this.signal(5_000));
    if (obs.healthy) {
      if (row.status === 'error') await transitionStatus(db, logger, row.id, 'error', 'running', 'verified healthy again');
      this.repairBackoff.delete(row.id);
      if (obs.drift && obs.drift.length > 0) {
        // Serving as it should, but behind (a rotated CA): converged in place, the status untouched.
        await this.converge(row).catch((err: unknown) =>
          logger.warn({ instanceId: row.id, drift: obs.drift, err: (err as Error).message }, 'converging drift failed; will retry'),
        );
      }
      return;
    }
    const problems = obs.problems.join('; ');
    if (row.status === 'running') await transitionStatus(db, logger, row.id, 'running', 'error', `unhealthy: ${problems}`);
    try {
      await this.converge(row);
      await transitionStatus(db, logger, row.id, 'error', 'running', `repaired (${problems})`);
      this.repairBackoff.delete(row.id);
    } catch (err) {
      const failures = (this.repairBackoff.get(row.id)?.failures ?? 0) + 1;
      this.repairBackoff.set(row.id, { failures, nextMs: this.o.now() + backoffMs(failures) });
      const message = err instanceof Error ? err.message : String(err);
      await updateInstance(db, row.id, { status_reason: `repair failed (${failures}x): ${message}` });
      logger.warn({ instanceId: row.id, failures, err: message }, 'repair failed; will retry');
    }
  }
}
