import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, TasksTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;
export type TaskRow = Selectable<TasksTable>;

export async function insertTask(
  db: Q,
  task: { instanceId: string; kind: string; payload: unknown; nowMs: number },
): Promise<number> {
  const res = await db
    .insertInto('tasks')
    .values({
      instance_id: task.instanceId,
      kind: task.kind,
      payload: JSON.stringify(task.payload ?? {}),
      state: 'pending',
      attempts: 0,
      last_error: '',
      next_run_ms: task.nowMs,
      created_ms: task.nowMs,
      updated_ms: task.nowMs,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return res.id;
}

/**
 * The oldest unfinished task of each instance whose turn has come (tasks of one instance run in order),
 * with the instance's account (the engine's fairness group; empty when the instance is gone).
 */
export async function dueTasks(db: Q, nowMs: number, limit: number): Promise<Array<TaskRow & { account: string }>> {
  const rows = await db
    .selectFrom('tasks as t')
    .leftJoin('instances as i', 'i.id', 't.instance_id')
    .selectAll('t')
    .select('i.account')
    .where('t.state', '=', 'pending')
    .where('t.next_run_ms', '<=', nowMs)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('tasks as e')
            .select('e.id')
            .whereRef('e.instance_id', '=', 't.instance_id')
            .where('e.state', '=', 'pending')
            .whereRef('e.id', '<', 't.id'),
        ),
      ),
    )
    .orderBy('t.id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ ...r, account: r.account ?? '' }));
}

export async function taskById(db: Q, id: number): Promise<TaskRow | undefined> {
  return db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function pendingTasks(db: Q, instanceId?: string): Promise<TaskRow[]> {
  let q = db.selectFrom('tasks').selectAll().where('state', '=', 'pending');
  if (instanceId) q = q.where('instance_id', '=', instanceId);
  return q.orderBy('id').execute();
}

export async function finishTask(db: Q, id: number, state: 'done' | 'failed', lastError: string, nowMs: number): Promise<void> {
  await db.updateTable('tasks').set({ state, last_error: lastError, updated_ms: nowMs }).where('id', '=', id).execute();
}

export async function retryTaskLater(db: Q, id: number, attempts: number, lastError: string, nextRunMs: number, nowMs: number): Promise<void> {
  await db
    .updateTable('tasks')
    .set({ attempts, last_error: lastError, next_run_ms: nextRunMs, updated_ms: nowMs })
    .where('id', '=', id)
    .execute();
}

/** Forgets finished tasks older than `beforeMs` (housekeeping: the table otherwise only grows). */
export async function pruneTasks(db: Q, beforeMs: number): Promise<void> {
  await db.deleteFrom('tasks').where('state', 'in', ['done', 'failed']).where('updated_ms', '<', beforeMs).execute();
}
