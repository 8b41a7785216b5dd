/** Every repository function of src/store/, on SQLite and on PostgreSQL (describe-store.ts). */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { deleteAccount, findAccount, insertAccount, listAccounts } from '../../src/store/accounts-repo.ts';
import { footprintRows } from '../../src/store/capacity-repo.ts';
import { getClearData, replaceClearData, requestClearDataStop, updateClearData } from '../../src/store/clear-data-repo.ts';
import { insertEvent, pruneEvents, recentEvents } from '../../src/store/events-repo.ts';
import {
  countInstances,
  deleteInstanceRow,
  findInstance,
  findInstanceForView,
  getInstanceById,
  insertInstance,
  instancesInStatus,
  listInstances,
  setIpWhiteList,
  tagsOf,
  updateInstance,
  type InstanceListQuery,
} from '../../src/store/instances-repo.ts';
import { createPortBook, NoFreePortsError, portsOf, pruneQuarantine, releasePorts, renamePortRole, reserveExactPort, reservePorts, reserveRoles } from '../../src/store/ports-repo.ts';
import { deleteExpiredSignatures, insertSignature, insertSignatures, unexpiredSignatures } from '../../src/store/signatures-repo.ts';
import { claimDueTasks, finishTask, insertTask, pendingTasks, pruneTasks, releaseTaskLease, renewTaskLeases, retryTaskLater, taskById } from '../../src/store/tasks-repo.ts';
import { heartbeat, leaveProcess, liveProcessCount, pruneLeases, releaseHealthLeases, shareHealthChecks } from '../../src/store/leases-repo.ts';
import { lockCapacity } from '../../src/store/store-locks.ts';
import { instanceRow } from '../helpers/instance-row.ts';
import { describeStore } from './describe-store.ts';

const list = (over: Partial<InstanceListQuery>): InstanceListQuery => ({ account: 'AK1', region: 'cn-north-1', sortDirection: 'asc', offset: 0, limit: 100, ...over });

describeStore('store repositories', (s) => {
  it('accounts: insert, find, list in creation order, delete refuses while instances are owned', async () => {
    await insertAccount(s.db, { access_key: 'AK1', secret_key: 'S1', created_at: '2026-01-01T00:00:00Z' });
    await insertAccount(s.db, { access_key: 'AK2', secret_key: 'S2', created_at: '2026-01-02T00:00:00Z' });
    await insertAccount(s.db, { access_key: 'AK3', secret_key: 'S3', created_at: '2026-01-03T00:00:00Z' });
    expect((await findAccount(s.db, 'AK2'))?.secret_key).toBe('S2');
    expect(await findAccount(s.db, 'nobody')).toBeUndefined();
    expect((await listAccounts(s.db)).map((a) => a.access_key)).toEqual(['AK1', 'AK2', 'AK3']);
    await insertInstance(s.db, instanceRow({ id: 'redis-own3', account: 'AK3' }), []);
    expect(await deleteAccount(s.db, 'AK3')).toBe('has-instances');
    await deleteInstanceRow(s.db, 'redis-own3');
    expect(await deleteAccount(s.db, 'AK3')).toBe('deleted');
    expect(await deleteAccount(s.db, 'AK3')).toBe('missing');
  });

  it('instances: insert with tags, find per account, view with tags, count, update, white list, status lists', async () => {
    await insertInstance(s.db, instanceRow({ id: 'redis-a', account: 'AK1', name: 'Orders-Cache', created_ms: 1_700_000_000_001, redis_version: '4.0', status: 'running' }), [
      { key: 'team', value: 'red' },
      { key: 'env', value: 'prod' },
    ]);
    await insertInstance(s.db, instanceRow({ id: 'redis-b', account: 'AK1', name: 'sessions', created_ms: 1_700_000_000_002, redis_version: '5.0', shard_number: 4, status: 'creating' }), [{ key: 'team', value: 'blue' }]);
    await insertInstance(s.db, instanceRow({ id: 'redis-c', account: 'AK1', name: 'orders_old%', created_ms: 1_700_000_000_003, redis_version: '6.2', memory_mb_per_shard: 8192, status: 'error' }), []);
    await insertInstance(s.db, instanceRow({ id: 'redis-x', account: 'AK2', name: 'orders', created_ms: 1_700_000_000_004 }), []);
    const a = await getInstanceById(s.db, 'redis-a');
    expect(a?.created_ms).toBe(1_700_000_000_001);
    expect(typeof a?.created_ms).toBe('number');
    expect(await findInstance(s.db, 'AK2', 'cn-north-1', 'redis-a')).toBeUndefined();
    expect((await findInstance(s.db, 'AK1', 'cn-north-1', 'redis-a'))?.name).toBe('Orders-Cache');
    const view = await findInstanceForView(s.db, 'AK1', 'cn-north-1', 'redis-a');
    expect(view?.tags.sort((x, y) => x.key.localeCompare(y.key))).toEqual([{ key: 'env', value: 'prod' }, { key: 'team', value: 'red' }]);
    expect((await findInstanceForView(s.db, 'AK1', 'cn-north-1', 'redis-c'))?.tags).toEqual([]);
    expect(await findInstanceForView(s.db, 'AK2', 'cn-north-1', 'redis-a')).toBeUndefined();
    expect(await countInstances(s.db, 'AK1', 'cn-north-1')).toBe(3);
    expect(await countInstances(s.db, 'AK1', 'cn-east-2')).toBe(0);
    await updateInstance(s.db, 'redis-a', { endpoint_port: 6500, status_reason: 'ok' });
    expect((await findInstanceForView(s.db, 'AK1', 'cn-north-1', 'redis-a'))?.port).toBe(6500);
    expect(await setIpWhiteList(s.db, 'redis-a', '["10.0.0.0/8"]')).toBe(true);
    await updateInstance(s.db, 'redis-b', { status: 'deleting' });
    expect(await setIpWhiteList(s.db, 'redis-b', '["10.0.0.0/8"]')).toBe(false);
    await updateInstance(s.db, 'redis-b', { status: 'creating' });
    expect((await instancesInStatus(s.db, ['running', 'error'])).map((r) => r.id).sort()).toEqual(['redis-a', 'redis-c']);
    const tags = await tagsOf(s.db, ['redis-a', 'redis-b', 'redis-c']);
    expect(tags.get('redis-b')).toEqual([{ key: 'team', value: 'blue' }]);
    expect(tags.has('redis-c')).toBe(false);
    expect((await tagsOf(s.db, [])).size).toBe(0);
  });

  it('instances: list filters, name matches ignore case and treat % and _ literally, sorting and paging', async () => {
    const ids = async (q: Partial<InstanceListQuery>) => (await listInstances(s.db, list(q))).rows.map((r) => r.id);
    expect(await ids({})).toEqual(['redis-a', 'redis-b', 'redis-c']);
    expect(await ids({ sortDirection: 'desc' })).toEqual(['redis-c', 'redis-b', 'redis-a']);
    expect(await ids({ nameContains: [['ORDERS']] })).toEqual(['redis-a', 'redis-c']);
    expect(await ids({ nameContains: [['orders'], ['cache']] })).toEqual(['redis-a']);
    expect(await ids({ nameContains: [['old%']] })).toEqual(['redis-c']);
    expect(await ids({ nameContains: [['e_s']] })).toEqual([]);
    expect(await ids({ nameExcludes: ['Orders'] })).toEqual(['redis-b']);
    expect(await ids({ ids: ['redis-b', 'redis-x'] })).toEqual(['redis-b']);
    expect(await ids({ statuses: ['running', 'error'] })).toEqual(['redis-a', 'redis-c']);
    expect(await ids({ redisVersions: ['5.0'] })).toEqual(['redis-b']);
    expect(await ids({ excluded: [{ column: 'redis_version', values: ['4.0'] }] })).toEqual(['redis-b', 'redis-c']);
    expect(await ids({ versionBounds: [{ op: '>', version: 4 }, { op: '<=', version: 5 }] })).toEqual(['redis-b']);
    expect(await ids({ tagFilters: [{ key: 'team', values: [] }] })).toEqual(['redis-a', 'redis-b']);
    expect(await ids({ tagFilters: [{ key: 'team', values: ['blue'] }] })).toEqual(['redis-b']);
    expect(await ids({ memorySort: 'desc' })).toEqual(['redis-c', 'redis-b', 'redis-a']);
    const page = await listInstances(s.db, list({ offset: 1, limit: 1 }));
    expect(page).toMatchObject({ total: 3, rows: [{ id: 'redis-b' }] });
    expect(typeof page.total).toBe('number');
  });

  it('capacity: footprint rows per account, region and memory, as numbers', async () => {
    const rows = (await footprintRows(s.db)).sort((x, y) => `${x.account}${x.memory_mb_per_shard}`.localeCompare(`${y.account}${y.memory_mb_per_shard}`));
    expect(rows).toEqual([
      { account: 'AK1', region: 'cn-north-1', memory_mb_per_shard: 1024, shards: 5, instances: 2 },
      { account: 'AK1', region: 'cn-north-1', memory_mb_per_shard: 8192, shards: 1, instances: 1 },
      { account: 'AK2', region: 'cn-north-1', memory_mb_per_shard: 1024, shards: 1, instances: 1 },
    ]);
  });

  it('lockCapacity: a row lock on PostgreSQL that a second transaction waits for; nothing on SQLite, where one transaction runs at a time', async () => {
    const taken = async (): Promise<number> => Number((await s.db.selectFrom('store_locks').select('taken').where('name', '=', 'capacity').executeTakeFirstOrThrow()).taken);
    const before = await taken();
    await s.db.transaction().execute(async (trx) => lockCapacity(trx));
    expect(await taken()).toBe(s.dialect === 'postgres' ? before + 1 : before);
    if (s.dialect !== 'postgres') return;
    // Under READ COMMITTED the second holder gets the lock only after the first committed.
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const firstLocked = new Promise<void>((r) => (locked = r));
    const first = s.db.transaction().execute(async (trx) => {
      await lockCapacity(trx);
      locked();
      await held;
      order.push('first commits');
    });
    await firstLocked;
    const second = s.db.transaction().execute(async (trx) => {
      await lockCapacity(trx);
      order.push('second locked');
    });
    // Release the first only once the second is seen waiting on a lock (or has got past it: then the order says so).
    for (let i = 0; i < 200 && order.length === 0; i++) {
      const waiting = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock'`.execute(s.db);
      if (waiting.rows[0]!.n > 0) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first commits', 'second locked']);
  });

  it('ports: reserve at random in range, exact, quarantine, rename, release, prune, roles and the port book', async () => {
    const range = { from: 7000, to: 7005 };
    const got = await s.db.transaction().execute((trx) => reservePorts(trx, 'redis-a', ['r1', 'r2'], range, 1000, new Set([7000])));
    expect(got?.every((p) => p.port > 7000 && p.port <= 7005)).toBe(true);
    expect(await reserveExactPort(s.db, 'redis-b', 'r1', got![0]!.port, 1000)).toBe(false);
    expect(await reserveExactPort(s.db, 'redis-b', 'r1', 7000, 1000)).toBe(true);
    expect((await portsOf(s.db, 'redis-b')).map((p) => p.port)).toEqual([7000]);
    await renamePortRole(s.db, 'redis-b', 7000, 'retired-r1');
    expect((await portsOf(s.db, 'redis-b'))[0]?.role).toBe('retired-r1');
    await releasePorts(s.db, 'redis-b', 5000);
    expect(await portsOf(s.db, 'redis-b')).toEqual([]);
    expect(await reserveExactPort(s.db, 'redis-c', 'r1', 7000, 4999)).toBe(false);
    await pruneQuarantine(s.db, 5000);
    expect(await reserveExactPort(s.db, 'redis-c', 'r1', 7000, 5000)).toBe(true);
    expect(await s.db.transaction().execute((trx) => reservePorts(trx, 'redis-c', ['a', 'b', 'c', 'd'], range, 5000))).toBeNull();
    const policy = { range, quarantineMs: 60_000 };
    await expect(s.db.transaction().execute((trx) => reserveRoles(trx, policy, 5000, 'redis-c', ['r1', 'x', 'y', 'z', 'w']))).rejects.toBeInstanceOf(NoFreePortsError);
    const book = createPortBook(s.db, policy, () => 10_000);
    const roles = await book.reserve('redis-c', ['r1', 'x']);
    expect(roles.get('r1')).toBe(7000);
    const moved = await book.move('redis-c', 'x', new Set([roles.get('x')!]));
    expect(moved).not.toBe(roles.get('x'));
    await book.release('redis-c', ['x']);
    expect([...(await book.list('redis-c')).keys()]).toEqual(['r1']);
    await book.release('redis-c');
    expect((await book.list('redis-c')).size).toBe(0);
  });

  it('events: append, newest kept, pruned by age and count', async () => {
    for (let i = 1; i <= 5; i++) await insertEvent(s.db, { instanceId: 'redis-a', atMs: i * 1000, type: 'status', data: { n: i } });
    const recent = await recentEvents(s.db, 'redis-a', 3);
    expect(recent.map((e) => JSON.parse(e.data) as { n: number }).map((d) => d.n)).toEqual([3, 4, 5]);
    expect(typeof recent[0]!.id).toBe('number');
    await pruneEvents(s.db, 2000, 2);
    expect((await recentEvents(s.db, 'redis-a')).map((e) => e.at_ms)).toEqual([4000, 5000]);
  });

  it('tasks: insert, due in order per instance, retry later, finish, prune', async () => {
    // Leases of 0 ms: each call sees what is due, whatever the call before claimed.
    const due = (nowMs: number) => claimDueTasks(s.db, { owner: 'p0', nowMs, leaseMs: 0, limit: 10 });
    const t1 = await insertTask(s.db, { instanceId: 'redis-a', kind: 'create', payload: { x: 1 }, nowMs: 100 });
    const t2 = await insertTask(s.db, { instanceId: 'redis-a', kind: 'resize', payload: {}, nowMs: 100 });
    const t3 = await insertTask(s.db, { instanceId: 'redis-gone', kind: 'delete', payload: null, nowMs: 100 });
    expect(typeof t1).toBe('number');
    expect(t2).toBeGreaterThan(t1);
    expect((await due(100)).map((t) => [t.id, t.account])).toEqual([[t1, 'AK1'], [t3, '']]);
    await retryTaskLater(s.db, t1, 1, 'boom', 500, 100);
    expect((await due(101)).map((t) => t.id)).toEqual([t3]);
    expect(await taskById(s.db, t1)).toMatchObject({ attempts: 1, last_error: 'boom', next_run_ms: 500 });
    await finishTask(s.db, t1, 'done', '', 200);
    expect((await due(600)).map((t) => t.id)).toEqual([t2, t3]);
    expect((await pendingTasks(s.db, 'redis-a')).map((t) => t.id)).toEqual([t2]);
    await finishTask(s.db, t2, 'failed', 'no', 300);
    await finishTask(s.db, t3, 'done', '', 300);
    await pruneTasks(s.db, 250);
    expect(await taskById(s.db, t1)).toBeUndefined();
    expect(await taskById(s.db, t2)).toBeDefined();
    expect(await pendingTasks(s.db)).toEqual([]);
  });

  it('task leases: a claimed task is nobody else\'s until its lease ends; renewed, released, lost', async () => {
    const t = await insertTask(s.db, { instanceId: 'redis-a', kind: 'create', payload: {}, nowMs: 1000 });
    const one = await claimDueTasks(s.db, { owner: 'p1', nowMs: 1000, leaseMs: 500, limit: 10 });
    expect(one.map((x) => [x.id, x.lease_owner, x.lease_until_ms, x.account])).toEqual([[t, 'p1', 1500, 'AK1']]);
    expect(await claimDueTasks(s.db, { owner: 'p2', nowMs: 1400, leaseMs: 500, limit: 10 })).toEqual([]);
    expect([...(await renewTaskLeases(s.db, 'p1', [t], 2000))]).toEqual([t]);
    expect(await claimDueTasks(s.db, { owner: 'p2', nowMs: 1999, leaseMs: 500, limit: 10 })).toEqual([]);
    // p1 stops renewing (it died): p2 takes the task after the lease, and p1's renewal then fails.
    expect((await claimDueTasks(s.db, { owner: 'p2', nowMs: 2001, leaseMs: 500, limit: 10 })).map((x) => x.id)).toEqual([t]);
    expect(await renewTaskLeases(s.db, 'p1', [t], 3000)).toEqual(new Set());
    await releaseTaskLease(s.db, 'p1', t);
    expect((await taskById(s.db, t))?.lease_owner).toBe('p2');
    await releaseTaskLease(s.db, 'p2', t);
    expect((await claimDueTasks(s.db, { owner: 'p3', nowMs: 2100, leaseMs: 500, limit: 10 })).map((x) => x.id)).toEqual([t]);
    await finishTask(s.db, t, 'done', '', 2200);
    expect(await taskById(s.db, t)).toMatchObject({ lease_owner: '', lease_until_ms: 0 });
    expect(await renewTaskLeases(s.db, 'p3', [], 1)).toEqual(new Set());
  });

  it("task leases: a finish or retry guarded with the owner lands only while it holds the lease (a loser's late write never does)", async () => {
    const t = await insertTask(s.db, { instanceId: 'redis-a', kind: 'create', payload: {}, nowMs: 1000 });
    await claimDueTasks(s.db, { owner: 'p1', nowMs: 1000, leaseMs: 500, limit: 10 });
    // p1 stalls past its lease; p2 takes the task and records a retry of its own.
    await claimDueTasks(s.db, { owner: 'p2', nowMs: 1600, leaseMs: 500, limit: 10 });
    // p1's late writes are refused, and change nothing.
    expect(await retryTaskLater(s.db, t, 1, 'p1 late', 1700, 1650, 'p1')).toBe(false);
    expect(await finishTask(s.db, t, 'failed', 'p1 late', 1650, 'p1')).toBe(false);
    expect(await taskById(s.db, t)).toMatchObject({ state: 'pending', attempts: 0, last_error: '', lease_owner: 'p2', lease_until_ms: 2100 });
    // A jittered (fractional) retry time lands, rounded up: PostgreSQL refused it in a bigint column.
    expect(await retryTaskLater(s.db, t, 1, 'p2 boom', 1699.25, 1650, 'p2')).toBe(true);
    expect(await taskById(s.db, t)).toMatchObject({ state: 'pending', attempts: 1, last_error: 'p2 boom', lease_owner: '', next_run_ms: 1700 });
    await claimDueTasks(s.db, { owner: 'p2', nowMs: 1800, leaseMs: 500, limit: 10 });
    expect(await finishTask(s.db, t, 'done', '', 1900, 'p2')).toBe(true);
    // Once finished, nobody's guarded write lands any more (not even the last holder's, twice).
    expect(await finishTask(s.db, t, 'failed', 'again', 2000, 'p2')).toBe(false);
    expect(await finishTask(s.db, t, 'failed', 'late', 2000, 'p1')).toBe(false);
    expect(await taskById(s.db, t)).toMatchObject({ state: 'done', last_error: '', attempts: 1, updated_ms: 1900 });
  });

  it('health leases: shared out fairly between live processes, at most one observer each, taken over after death', async () => {
    const ids = ['i1', 'i2', 'i3', 'i4'];
    await heartbeat(s.db, 'p1', 1000);
    expect(await liveProcessCount(s.db, 0)).toBe(1);
    const p1 = await shareHealthChecks(s.db, { owner: 'p1', nowMs: 1000, leaseMs: 500, instanceIds: ids, share: 4 });
    expect(p1).toEqual(new Set(ids));
    await heartbeat(s.db, 'p2', 1100);
    expect(await liveProcessCount(s.db, 600)).toBe(2);
    // p2 finds nothing free until p1 gives up what is beyond its new share.
    expect(await shareHealthChecks(s.db, { owner: 'p2', nowMs: 1100, leaseMs: 500, instanceIds: ids, share: 2 })).toEqual(new Set());
    const p1b = await shareHealthChecks(s.db, { owner: 'p1', nowMs: 1200, leaseMs: 500, instanceIds: ids, share: 2 });
    const p2 = await shareHealthChecks(s.db, { owner: 'p2', nowMs: 1200, leaseMs: 500, instanceIds: ids, share: 2 });
    expect(p1b.size).toBe(2);
    expect(p2.size).toBe(2);
    expect(new Set([...p1b, ...p2])).toEqual(new Set(ids));
    // p1 dies: its leases run out at 1700 and p2 takes all of them then, not before.
    expect((await shareHealthChecks(s.db, { owner: 'p2', nowMs: 1600, leaseMs: 500, instanceIds: ids, share: 4 })).size).toBe(2);
    expect(await shareHealthChecks(s.db, { owner: 'p2', nowMs: 1701, leaseMs: 500, instanceIds: ids, share: 4 })).toEqual(new Set(ids));
    // An instance no longer listed is let go.
    expect(await shareHealthChecks(s.db, { owner: 'p2', nowMs: 1800, leaseMs: 500, instanceIds: ['i1'], share: 4 })).toEqual(new Set(['i1']));
    await leaveProcess(s.db, 'p2');
    expect(await shareHealthChecks(s.db, { owner: 'p3', nowMs: 1801, leaseMs: 500, instanceIds: ['i1'], share: 1 })).toEqual(new Set(['i1']));
    await pruneLeases(s.db, 5000);
    expect(await liveProcessCount(s.db, 0)).toBe(0);
  });

  it("a task waits while another live process holds its instance's health lease; claimed once given back or run out", async () => {
    const t = await insertTask(s.db, { instanceId: 'redis-b', kind: 'resize', payload: {}, nowMs: 1000 });
    expect(await shareHealthChecks(s.db, { owner: 'obs', nowMs: 1000, leaseMs: 500, instanceIds: ['redis-b'], share: 1 })).toEqual(new Set(['redis-b']));
    expect(await claimDueTasks(s.db, { owner: 'p1', nowMs: 1100, leaseMs: 500, limit: 10 })).toEqual([]);
    // The observer's own lease does not hold its own claim back.
    expect((await claimDueTasks(s.db, { owner: 'obs', nowMs: 1100, leaseMs: 50, limit: 10 })).map((x) => x.id)).toEqual([t]);
    await releaseTaskLease(s.db, 'obs', t);
    // Given back (the observer saw the task): the other process claims it at once.
    await releaseHealthLeases(s.db, 'obs', ['redis-b']);
    expect((await claimDueTasks(s.db, { owner: 'p1', nowMs: 1200, leaseMs: 500, limit: 10 })).map((x) => x.id)).toEqual([t]);
    await finishTask(s.db, t, 'done', '', 1300);
    // Or the observer died: its lease runs out and the task is claimed then, not before.
    const u = await insertTask(s.db, { instanceId: 'redis-b', kind: 'resize', payload: {}, nowMs: 2000 });
    await shareHealthChecks(s.db, { owner: 'obs', nowMs: 2000, leaseMs: 500, instanceIds: ['redis-b'], share: 1 });
    expect(await claimDueTasks(s.db, { owner: 'p1', nowMs: 2500, leaseMs: 500, limit: 10 })).toEqual([]);
    expect((await claimDueTasks(s.db, { owner: 'p1', nowMs: 2501, leaseMs: 500, limit: 10 })).map((x) => x.id)).toEqual([u]);
    await finishTask(s.db, u, 'done', '', 2600);
    await pruneLeases(s.db, 5000);
  });

  it('signatures: a replay is refused, batches count what was there, expired ones pruned oldest first', async () => {
    expect(await insertSignature(s.db, { expires_ms: 1000, signature: 'aa' })).toBe(true);
    expect(await insertSignature(s.db, { expires_ms: 1000, signature: 'aa' })).toBe(false);
    const rows = Array.from({ length: 300 }, (_, i) => ({ expires_ms: 2000 + i, signature: `s${i}` }));
    expect(await insertSignatures(s.db, rows)).toBe(0);
    expect(await insertSignatures(s.db, [{ expires_ms: 1000, signature: 'aa' }, { expires_ms: 5000, signature: 'new' }])).toBe(1);
    expect((await unexpiredSignatures(s.db, 2297, 10)).map((r) => r.signature)).toEqual(['new', 's299', 's298']);
    expect(await deleteExpiredSignatures(s.db, 2100, 50)).toBe(50);
    // 'aa' (1000) and s0…s100 (2000…2100) have expired: 102 in all.
    expect(await deleteExpiredSignatures(s.db, 2100, 1000)).toBe(52);
    expect(await deleteExpiredSignatures(s.db, 2100, 1000)).toBe(0);
  });

  it('clear data: replace, read, update only for the current task, stop only while running; gone with its instance', async () => {
    const row = { instance_id: 'redis-a', task_id: 7, clear_type: 'all', key_pattern: '', key_filter: '[]', qps_limit: 100, status: 'running', message: '', progress: 0, effect_keys: 0, state: '{}', stop_requested: 0, started_ms: 1, transition_ms: 1 };
    await replaceClearData(s.db, row);
    expect(await updateClearData(s.db, 'redis-a', 8, { progress: 50 })).toBe(false);
    expect(await updateClearData(s.db, 'redis-a', 7, { progress: 50, effect_keys: 3_000_000_000 })).toBe(true);
    expect(await getClearData(s.db, 'redis-a')).toMatchObject({ progress: 50, effect_keys: 3_000_000_000 });
    expect(await requestClearDataStop(s.db, 'redis-a')).toBe(true);
    await replaceClearData(s.db, { ...row, task_id: 9, status: 'success' });
    expect(await requestClearDataStop(s.db, 'redis-a')).toBe(false);
    expect((await getClearData(s.db, 'redis-a'))?.task_id).toBe(9);
    await deleteInstanceRow(s.db, 'redis-a');
    expect(await getClearData(s.db, 'redis-a')).toBeUndefined();
    expect(await getInstanceById(s.db, 'redis-a')).toBeUndefined();
  });
});
