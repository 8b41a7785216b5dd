import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, TaskProgressTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type TaskProgressRow = Selectable<TaskProgressTable>;

/** Marks that the task started running (once: a later run of it keeps what was recorded). */
export async function markTaskStarted(db: Q, p: { taskId: number; instanceId: string; nowMs: number }): Promise<void> {
  await db
    .insertInto('task_progress')
    .values({ task_id: p.taskId, instance_id: p.instanceId, done: 0, total: 0, unit: '', started_ms: p.nowMs, updated_ms: p.nowMs })
    .onConflict((oc) => oc.column('task_id').doNothing())
    .execute();
}

/** Records what a task reported; the first call marks when it started running. Progress rows go with their task. */
export async function reportTaskProgress(
  db: Q,
  p: { taskId: number; instanceId: string; done: number; total: number; unit: string; nowMs: number },
): Promise<void> {
  await db
    .insertInto('task_progress')
    .values({ task_id: p.taskId, instance_id: p.instanceId, done: p.done, total: p.total, unit: p.unit, started_ms: p.nowMs, updated_ms: p.nowMs })
    .onConflict((oc) => oc.column('task_id').doUpdateSet({ done: p.done, total: p.total, unit: p.unit, updated_ms: p.nowMs }))
    .execute();
}

/** The instance's tasks of `kinds` that are still kept (finished ones are pruned after a day), newest first, with their progress. */
export async function tasksWithProgress(db: Q, instanceId: string, kinds: readonly string[]) {
  if (kinds.length === 0) return [];
  return db
    .selectFrom('tasks as t')
    .leftJoin('task_progress as p', 'p.task_id', 't.id')
    .select(['t.id', 't.kind', 't.state', 't.created_ms', 't.updated_ms', 'p.done', 'p.total', 'p.unit', 'p.started_ms', 'p.updated_ms as progress_ms'])
    .where('t.instance_id', '=', instanceId)
    .where('t.kind', 'in', [...kinds])
    .orderBy('t.id', 'desc')
    .execute();
}
