import type { Driver, InstanceSpec, StepResult } from '../drivers/driver.ts';
import type { Logger } from '../logger.ts';
import type { Db } from '../store/open-store.ts';
import type { InstanceRecord } from '../store/instances-repo.ts';
import type { TaskRow } from '../store/tasks-repo.ts';

/** What a task handler may use; built by the engine per run. */
export interface TaskContext {
  db: Db;
  driver: Driver;
  logger: Logger;
  now(): number;
  /** This process's name in task leases: writes that end the task are guarded with it (finishTask's `owner`). */
  owner: string;
  /**
   * A signal that aborts when the engine stops, when this process loses the task's lease (another
   * process runs the task now), or after `ms` (default: the step timeout).
   */
  signal(ms?: number): AbortSignal;
  /** The driver's spec for the row as stored now. */
  spec(row: InstanceRecord): InstanceSpec;
  /**
   * driver.ensurePresent, then (when done) the endpoint recorded and the instance verified the way a
   * client would see it; throws with the problems when it is not healthy.
   */
  converge(row: InstanceRecord): Promise<StepResult>;
  /** Starts dead nodes with `spec`'s settings before a live change (see handlers/restart-dead-nodes.ts). */
  restartDeadNodes(spec: InstanceSpec): Promise<StepResult>;
}

/** How a step ended: done, or not there yet (look again later, no attempt counted). */
export type TaskOutcome = { state: 'done' } | { state: 'progressing'; retryAfterMs: number; reason: string };

export const DONE: TaskOutcome = { state: 'done' };

/** A StepResult that is still progressing, as the task's outcome; null when it is done. */
export function stillProgressing(r: StepResult): TaskOutcome | null {
  return r.state === 'progressing' ? { state: 'progressing', retryAfterMs: r.retryAfterMs, reason: r.reason } : null;
}

/**
 * One kind of durable work (create, resize, …): a module of its own, registered with the engine. `run`
 * is level-based and safe to repeat after a crash at any point; `giveUp` undoes what can be undone when
 * the task cannot succeed (the default puts the instance in `error` with the reason).
 */
export interface TaskHandler {
  kind: string;
  run(ctx: TaskContext, row: InstanceRecord, task: TaskRow): Promise<TaskOutcome>;
  giveUp?(ctx: TaskContext, row: InstanceRecord, task: TaskRow, message: string): Promise<void>;
}

/**
 * Thrown when this process no longer holds the task's lease (a guarded write did not land): the engine
 * then writes nothing more for the task, whose new holder goes on with it.
 */
export class TaskLeaseLost extends Error {
  override readonly name = 'TaskLeaseLost';
  constructor(readonly taskId: number) {
    super(`the lease of task ${taskId} was lost: another process runs it`);
  }
}

/** Thrown by a handler when retrying cannot help: the task gives up at once. */
export class GiveUp extends Error {
  override readonly name = 'GiveUp';
}
