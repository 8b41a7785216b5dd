/**
 * The engine's scheduling and failure handling on a real store with the fake driver (issue 12's
 * defects, each reproduced the way it was found): health checks within their bound, a loop that
 * survives store failures, one tenant unable to stall another, "progressing" that is not a failure, a
 * refused resize that says when restoring fails, bounded retries of a broken instance, pruning.
 */
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { insertTask } from '../../src/store/tasks-repo.ts';
import { ACCOUNTS, engineHarness, type EngineHarness } from './engine-harness.ts';

const [A, B] = ACCOUNTS as [string, string];
let h: EngineHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function running(harness: EngineHarness, account: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await harness.create(account)).id);
  await harness.waitFor(`${count} instances running`, async () => (await Promise.all(ids.map((id) => harness.status(id)))).every((s) => s === 'running'));
  return ids;
}

describe('engine work queue', () => {
  it('runs at most healthConcurrency health checks at once, and a create is not kept waiting behind hung ones', async () => {
    h = await engineHarness({ healthConcurrency: 4, concurrency: 4, observeTimeoutMs: 5_000, healthIntervalMs: 50 });
    const ids = await running(h, A, 46);
    // Every one of them now hangs when observed, as a node that accepts connections and never answers.
    for (const id of ids) h.fake.fault(id, { hang: true, ops: ['observe'] });
    await new Promise((r) => setTimeout(r, 300));
    const before = h.fake.maxRunning.get('observe') ?? 0;
    const { id, committedMs } = await h.create(B);
    await h.waitFor('the create to reach the driver', () => h!.fake.callsOf(id, 'ensurePresent').length > 0);
    const firstCall = h.fake.callsOf(id, 'ensurePresent')[0]!.atMs;
    // Hung checks hold their 4 slots for the whole 5 s observe timeout; the create does not wait for them.
    expect(firstCall - committedMs).toBeLessThan(1_000);
    // Health checks never took more than their lane (tasks' own verify observes are in the task lane).
    expect(before).toBeLessThanOrEqual(4);
  });

  it('survives a store that fails for a while: reports it, retries, then runs what was committed meanwhile', async () => {
    h = await engineHarness();
    await running(h, A, 1);
    expect(h.engine.health().ok).toBe(true);
    await sql`ALTER TABLE tasks RENAME TO tasks_gone`.execute(h.db);
    await h.waitFor('the engine to report the failing store', () => !h!.engine.health().ok, 5_000);
    expect(h.engine.health().reason).toMatch(/cannot read the store/);
    await sql`ALTER TABLE tasks_gone RENAME TO tasks`.execute(h.db);
    const { id } = await h.create(A);
    await h.waitFor('the new instance to run', async () => (await h!.status(id)) === 'running', 10_000);
    expect(h.engine.health().ok).toBe(true);
  });

  it("one tenant's hung instances do not delay another tenant's create and delete", async () => {
    h = await engineHarness({ concurrency: 4, healthConcurrency: 4, stepTimeoutMs: 3_000, observeTimeoutMs: 1_000 });
    const stuck = await running(h, A, 20);
    for (const id of stuck) {
      h.fake.fault(id, { hang: true });
      h.fake.breakInstance(id, ['node stopped answering']);
    }
    await new Promise((r) => setTimeout(r, 200));
    const started = performance.now();
    const { id } = await h.create(B);
    await h.waitFor('B to run', async () => (await h!.status(id)) === 'running', 10_000);
    await h.instances.delete({ account: B, region: 'cn-north-1' }, id);
    await h.waitFor('B to be gone', async () => (await h!.status(id)) === undefined, 10_000);
    // Far less than the 3 s step timeout that A's hung repairs sit in.
    expect(performance.now() - started).toBeLessThan(2_500);
  });

  it('a step that is still progressing is looked at again without counting an attempt', async () => {
    h = await engineHarness({ maxAttempts: 2 });
    const { id } = await h.create(A).then(async (r) => {
      h!.fake.fault(r.id, { progressingTimes: 6, progressingRetryMs: 20, ops: ['ensurePresent'] });
      return r;
    });
    await h.waitFor('running', async () => (await h!.status(id)) === 'running', 10_000);
    const task = await h.db.selectFrom('tasks').selectAll().where('instance_id', '=', id).executeTakeFirstOrThrow();
    expect(task.attempts).toBe(0);
    expect(task.state).toBe('done');
    const events = await h.db.selectFrom('instance_events').select('type').where('instance_id', '=', id).execute();
    expect(events.filter((e) => e.type === 'task-progressing').length).toBeGreaterThanOrEqual(1);
  });

  it('a refused resize restores the old class, and says so when re-applying it fails too', async () => {
    h = await engineHarness({ maxAttempts: 2 });
    const [id] = (await running(h, A, 1)) as [string];
    h.fake.fault(id, { fail: 'disk on fire', ops: ['ensurePresent', 'applySettings'] });
    await h.instances.modifyClass({ account: A, region: 'cn-north-1' }, id, { cacheInstanceClass: 'redis.m.small.basic' });
    await h.waitFor('the resize to be refused', async () => {
      const row = await h!.db.selectFrom('instances').select(['status', 'status_reason']).where('id', '=', id).executeTakeFirstOrThrow();
      return row.status === 'running' && /resize refused/.test(row.status_reason) && /restoring the old class is not finished/.test(row.status_reason);
    });
    const row = await h.db.selectFrom('instances').select(['instance_class']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.instance_class).toBe('redis.m.micro.basic');
  });

  it('retries a permanently broken instance with growing backoff, and warns about it only now and then', async () => {
    h = await engineHarness({ healthIntervalMs: 20 });
    const [id] = (await running(h, A, 1)) as [string];
    h.fake.fault(id, { fail: 'still broken', ops: ['ensurePresent'] });
    h.fake.breakInstance(id, ['a node is down']);
    await new Promise((r) => setTimeout(r, 3_000));
    const repairs = h.fake.callsOf(id, 'ensurePresent').length;
    // 20 ms checks for 3 s would be ~150 repairs without backoff (0.25, 0.5, 1, 2 s …).
    expect(repairs).toBeLessThan(10);
    const warnings = h.logs.filter((l) => l.msg === 'repair failed; will retry' && l.instanceId === id);
    expect(warnings.length).toBe(1);
    expect(await h.status(id)).toBe('error');
    expect((await h.db.selectFrom('instances').select('status_reason').where('id', '=', id).executeTakeFirstOrThrow()).status_reason).toMatch(/still broken/);
  });

  it('a driver call past its bound is aborted: the call itself stops, not only the wait for it', async () => {
    h = await engineHarness({ observeTimeoutMs: 200, healthIntervalMs: 50 });
    const [id] = (await running(h, A, 1)) as [string];
    h.fake.fault(id, { hang: true, ops: ['observe'] });
    await h.waitFor('hung observes to be aborted', () => (h!.fake.aborted.get('observe') ?? 0) >= 3, 5_000);
    await h.waitFor('the instance to be marked unhealthy', async () => (await h!.status(id)) === 'error');
    // Each hung call ended when its bound passed: they never piled up behind each other.
    expect(h.fake.maxRunning.get('observe')).toBeLessThanOrEqual(2);
  });

  it('keeps a queryable history of each instance and prunes old finished tasks', async () => {
    h = await engineHarness({ housekeepingMs: 50 });
    const [id] = (await running(h, A, 1)) as [string];
    const types = (await h.db.selectFrom('instance_events').select('type').where('instance_id', '=', id).orderBy('id').execute()).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['task-started', 'status', 'task-finished']));
    const old = Date.now() - 48 * 3_600_000;
    const taskId = await insertTask(h.db, { instanceId: id, kind: 'password', payload: {}, nowMs: old });
    await h.db.updateTable('tasks').set({ state: 'done', updated_ms: old }).where('id', '=', taskId).execute();
    await h.waitFor('the old task to be pruned', async () => !(await h!.db.selectFrom('tasks').select('id').where('id', '=', taskId).executeTakeFirst()));
    // The create's own task (finished a moment ago) is kept.
    expect(await h.db.selectFrom('tasks').select('id').where('instance_id', '=', id).where('kind', '=', 'create').executeTakeFirst()).toBeDefined();
  });

  it('checks a settled instance with its row as it is now, also when the store changed without a task', async () => {
    h = await engineHarness({ healthIntervalMs: 50 });
    const [id] = (await running(h, A, 1)) as [string];
    const observes = h.fake.callsOf(id, 'observe').length;
    await h.waitFor('more health checks', () => h!.fake.callsOf(id, 'observe').length >= observes + 5);
    // Changed behind the engine's back, with no task (as another control-plane process would): the next
    // checks see the new row, find the node behind it, and the repair applies it.
    const sha = 'ab'.repeat(32);
    await h.db.updateTable('instances').set({ password_sha256: sha }).where('id', '=', id).execute();
    await h.waitFor('the repair to apply the row as it is now', () => h!.fake.specOf(id)?.passwordSha256 === sha);
  });
});
