/**
 * A process that loses a task's lease (it stalled past it and another process took the task) stops
 * working on it: its step's signal is aborted, and nothing it writes afterwards for the task (finish,
 * retry, events) lands, so the new holder's progress is never overwritten. The "other process" is a
 * second engine on the same store with its own process id; the lease is stolen by writing the tasks row
 * directly, as the other process's claim would.
 */
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { wrapDriver } from '../../src/drivers/wrap-driver.ts';
import { Engine } from '../../src/engine/engine.ts';
import { defaultTaskHandlers } from '../../src/engine/handlers/default-handlers.ts';
import { ACCOUNTS, engineHarness, type EngineHarness, TEST_SEAL } from './engine-harness.ts';

const [A] = ACCOUNTS as [string];
const WINNER = 'winner-process';
let h: EngineHarness | undefined;
let winner: Engine | undefined;
afterEach(async () => {
  await winner?.stop(1_000);
  winner = undefined;
  await h?.close();
  h = undefined;
});

/** The other process: an engine on the same store and driver, under another lease owner. */
function startWinner(harness: EngineHarness): Engine {
  const logger = pino({ level: 'silent' });
  const engine = new Engine({ db: harness.db, passwordSeal: TEST_SEAL, driver: wrapDriver(harness.fake, { logger, timeoutMs: 30_000 }), logger, handlers: defaultTaskHandlers, processId: WINNER, healthIntervalMs: 100 });
  engine.start();
  return engine;
}

async function createTask(harness: EngineHarness, id: string): Promise<{ id: number; state: string; lease_owner: string; attempts: number; last_error: string }> {
  return harness.db.selectFrom('tasks').select(['id', 'state', 'lease_owner', 'attempts', 'last_error']).where('instance_id', '=', id).where('kind', '=', 'create').executeTakeFirstOrThrow();
}

async function eventTypes(harness: EngineHarness, id: string): Promise<string[]> {
  return (await harness.db.selectFrom('instance_events').select('type').where('instance_id', '=', id).orderBy('id').execute()).map((e) => e.type);
}

const lostLogs = (harness: EngineHarness): unknown[] => harness.logs.filter((l) => l.msg === 'task lease lost; this process leaves the task to its new holder');

describe('task leases lost mid-step', () => {
  it('aborts the step of a task whose lease was taken, and the loser writes nothing more for it', async () => {
    // Renewals every 400 ms: the loss is noticed at the first one after the steal. One task slot, so
    // the loser never claims the task back once it has forgotten it.
    h = await engineHarness({ leaseMs: 1_200, concurrency: 1 });
    const { id } = await h.create(A, 'stolen');
    h.fake.fault(id, { hang: true, ops: ['ensurePresent'] });
    await h.waitFor('the step to reach the driver', () => h!.fake.callsOf(id, 'ensurePresent').length > 0);
    const task = await createTask(h, id);
    expect(task.lease_owner).not.toBe(WINNER);

    // Another process takes the task (as if this one had stalled past its lease).
    await h.db.updateTable('tasks').set({ lease_owner: WINNER, lease_until_ms: Date.now() + 3_600_000 }).where('id', '=', task.id).execute();

    // The hung step ends because its signal was aborted (not its 30 s step timeout), and the engine
    // leaves the task alone.
    await h.waitFor("the loser's step to be aborted", () => (h!.fake.aborted.get('ensurePresent') ?? 0) >= 1);
    await h.waitFor('the loser to give the task up', () => lostLogs(h!).length === 1);
    expect(h.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('task lease lost (this process stalled past it)') && l.task === task.id)).toBe(true);
    // Its retry (the aborted step counts as a failure otherwise) did not land, nor any failure event.
    const after = await createTask(h, id);
    expect(after).toEqual({ ...task, lease_owner: WINNER });
    expect(await eventTypes(h, id)).not.toContain('task-failed');
    expect(await h.status(id)).toBe('creating');

    // The loser stops; the winner's lease ends (it stalled too, say) and the other process runs the task.
    await h.engine.stop(1_000);
    h.fake.fault(id, undefined);
    await h.db.updateTable('tasks').set({ lease_owner: '', lease_until_ms: 0 }).where('id', '=', task.id).execute();
    winner = startWinner(h);
    await h.waitFor('the winner to finish the create', async () => (await h!.status(id)) === 'running' && (await createTask(h!, id)).state === 'done');
    await h.waitFor('the finish event', async () => (await eventTypes(h!, id)).includes('task-finished'));
    expect((await eventTypes(h, id)).filter((t) => t === 'task-finished')).toHaveLength(1);
    expect((await createTask(h, id)).attempts).toBe(0);
  });

  it("a step that ends after its lease was taken: the loser's finish does not land, the winner finishes the task once", async () => {
    // No renewal during the test: the loss is found only by the guarded finish itself. One task slot,
    // so the loser does not claim the task back while its own step still runs.
    h = await engineHarness({ leaseMs: 3_600_000, concurrency: 1 });
    const { id } = await h.create(A, 'raced');
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    h.fake.fault(id, { gate, ops: ['ensurePresent'] });
    await h.waitFor("the loser's step to reach the driver", () => h!.fake.callsOf(id, 'ensurePresent').length > 0);
    // Only the loser's call waits at the gate; the winner's calls go through.
    h.fake.fault(id, undefined);
    const task = await createTask(h, id);

    // The loser's lease runs out (it stalled) and the other process claims the task and finishes it.
    await h.db.updateTable('tasks').set({ lease_until_ms: 0 }).where('id', '=', task.id).execute();
    winner = startWinner(h);
    await h.waitFor('the winner to finish the create', async () => (await createTask(h!, id)).state === 'done');
    await h.waitFor('the winner to report it', async () => (await eventTypes(h!, id)).includes('task-finished'));
    expect(await h.status(id)).toBe('running');
    const finished = await h.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();

    // Now the loser's step ends: its finish is refused by the store, and it writes nothing after it.
    open();
    await h.waitFor("the loser's step to end", () => h!.engine.workload().running === 0);
    expect(await h.db.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow()).toEqual(finished);
    expect(h.logs.some((l) => l.msg === 'task create done')).toBe(false);
    expect(lostLogs(h)).toHaveLength(1);
    await h.engine.stop(1_000);
    const types = await eventTypes(h, id);
    expect(types.filter((t) => t === 'task-finished')).toHaveLength(1);
    expect(types).not.toContain('task-failed');
    expect(types.filter((t) => t === 'status')).toHaveLength(1);
  });
});
