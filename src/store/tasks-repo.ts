import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, TasksTable } from './schema.ts';
import { dialectOf, type Db } from './store-dialect.ts';

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

export async function taskById(db: Q, id: number): Promise<TaskRow | undefined> {
  return db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function pendingTasks(db: Q, instanceId?: string): Promise<TaskRow[]> {
  let q = db.selectFrom('tasks').selectAll().where('state', '=', 'pending');
  if (instanceId) q = q.where('instance_id', '=', instanceId);
  return q.orderBy('id').execute();
}

/**
 * Finishes the task (and ends whatever lease it had). With `owner`, only while `owner` holds the task's
 * lease: a process that lost it (it stalled, another process took the task) cannot overwrite the new
 * holder's progress. Returns whether the write landed.
 */
export async function finishTask(db: Q, id: number, state: 'done' | 'failed', lastError: string, nowMs: number, owner?: string): Promise<boolean> {
  let q = db.updateTable('tasks').set({ state, last_error: lastError, updated_ms: nowMs, lease_owner: '', lease_until_ms: 0 }).where('id', '=', id);
  if (owner !== undefined) q = q.where('lease_owner', '=', owner);
  const res = await q.executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/**
 * Puts the task back for `nextRunMs`, its lease ended: whichever process is free then takes it. With
 * `owner`, only while `owner` holds the lease (as finishTask). Returns whether the write landed.
 * Times are whole milliseconds in the store: a fractional one (a jittered backoff) is rounded up, since
 * PostgreSQL refuses it for a bigint column (SQLite took it), and the retry never landed there.
 */
export async function retryTaskLater(db: Q, id: number, attempts: number, lastError: string, nextRunMs: number, nowMs: number, owner?: string): Promise<boolean> {
  let q = db
    .updateTable('tasks')
    .set({ attempts, last_error: lastError, next_run_ms: Math.ceil(nextRunMs), updated_ms: Math.ceil(nowMs), lease_owner: '', lease_until_ms: 0 })
    .where('id', '=', id);
  if (owner !== undefined) q = q.where('lease_owner', '=', owner);
  const res = await q.executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** Forgets finished tasks older than `beforeMs` (housekeeping: the table otherwise only grows). */
export async function pruneTasks(db: Q, beforeMs: number): Promise<void> {
  await db.deleteFrom('tasks').where('state', 'in', ['done', 'failed']).where('updated_ms', '<', beforeMs).execute();
}

/** Who claims tasks, when, for how long, and how many at most. */
export interface TaskClaim {
  /** The claiming service process (engine/engine.ts makes one id per process start). */
  owner: string;
  nowMs: number;
  leaseMs: number;
  limit: number;
}

/**
 * Claims due tasks for `owner` until `nowMs + leaseMs`: the oldest pending task of each instance whose
 * turn has come (tasks of one instance run in order) and whose lease is free or has expired (its holder died or stalled),
 * of instances no other process holds a health lease on (a task and another process's repair never
 * touch one instance's nodes at once; the engine checks for pending tasks before it repairs). On PostgreSQL
 * the candidates are locked with FOR UPDATE SKIP LOCKED, so processes claiming at once take different
 * tasks without waiting on each other; SQLite runs one transaction at a time. Returns the claimed
 * tasks with their instance's account (the engine's fairness group; '' when the instance is gone).
 */
export async function claimDueTasks(db: Db, c: TaskClaim): Promise<Array<TaskRow & { account: string }>> {
  const postgres = dialectOf(db) === 'postgres';
  return db.transaction().execute(async (trx) => {
    let candidates = trx
      .selectFrom('tasks as t')
      .select('t.id')
      .where('t.state', '=', 'pending')
      .where('t.next_run_ms', '<=', c.nowMs)
      .where('t.lease_until_ms', '<', c.nowMs)
      // Tasks of one instance run in order: only its oldest pending one is due.
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
      // Not while another live process observes the instance: its health check may be repairing the
      // nodes this task would change. It gives the lease back as soon as it sees the task (and its check,
      // if one runs, has ended), so the task waits a turn, not a lease.
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('health_leases as h')
              .select('h.instance_id')
              .whereRef('h.instance_id', '=', 't.instance_id')
              .where('h.owner', '!=', c.owner)
              .where('h.until_ms', '>=', c.nowMs),
          ),
        ),
      )
      .orderBy('t.id')
      .limit(c.limit);
    if (postgres) candidates = candidates.forUpdate().skipLocked();
    const ids = (await candidates.execute()).map((r) => r.id);
    if (ids.length === 0) return [];
    const claimed = await trx
      .updateTable('tasks')
      .set({ lease_owner: c.owner, lease_until_ms: c.nowMs + c.leaseMs })
      .where('id', 'in', ids)
      .returningAll()
      .execute();
    const owners = await trx
      .selectFrom('instances')
      .select(['id', 'account'])
      .where('id', 'in', claimed.map((t) => t.instance_id))
      .execute();
    const accountOf = new Map(owners.map((o) => [o.id, o.account]));
    return claimed.sort((a, b) => a.id - b.id).map((t) => ({ ...t, account: accountOf.get(t.instance_id) ?? '' }));
  });
}

/** Extends `owner`'s leases of `ids` until `untilMs`; returns the ids it still held (the others were lost). */
export async function renewTaskLeases(db: Q, owner: string, ids: readonly number[], untilMs: number): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .updateTable('tasks')
    .set({ lease_until_ms: untilMs })
    .where('id', 'in', ids)
    .where('lease_owner', '=', owner)
    .where('state', '=', 'pending')
    .returning('id')
    .execute();
  return new Set(rows.map((r) => r.id));
}

/** Gives up `owner`'s lease of the task (a process shutting down), so another process takes it at once. */
export async function releaseTaskLease(db: Q, owner: string, id: number): Promise<void> {
  await db.updateTable('tasks').set({ lease_owner: '', lease_until_ms: 0 }).where('id', '=', id).where('lease_owner', '=', owner).execute();
}

/**
 * Ends every task lease. Only for a store no other process can be using (SQLite under the data
 * directory's lock): the leases left are a dead process's, and its tasks resume now, not after them.
 */
export async function releaseAllTaskLeases(db: Q): Promise<void> {
  await db.updateTable('tasks').set({ lease_owner: '', lease_until_ms: 0 }).where('lease_owner', '!=', '').execute();
}
