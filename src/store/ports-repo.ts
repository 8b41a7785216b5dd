import { randomInt } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { precompiled } from './precompiled-query.ts';
import { lockCapacity } from './store-locks.ts';
import type { Database, PortsTable } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

/** How ports are handed out: the operator's range, and how long a released port rests. */
export interface PortPolicy {
  range: { from: number; to: number };
  /** A released port is reserved by no instance for this long (`JCS_PORT_QUARANTINE_S`). */
  quarantineMs: number;
}

/**
 * Reserves one port per role for an instance, chosen at random among the free ports of `range` that are
 * not quarantined and not in `avoid`. Random, not lowest-first: the next port an instance will get must
 * not be guessable, or a local process can listen there first. Must run inside the caller's transaction
 * (the primary key also forbids two reservations of one port). Returns null when too few are free.
 */
export async function reservePorts(
  db: Q,
  instanceId: string,
  roles: string[],
  range: { from: number; to: number },
  nowMs: number,
  avoid: ReadonlySet<number> = new Set(),
): Promise<PortsTable[] | null> {
  if (roles.length === 0) return [];
  const [taken, resting] = await Promise.all([
    db.selectFrom('ports').select('port').where('port', '>=', range.from).where('port', '<=', range.to).execute(),
    db.selectFrom('port_quarantine').select('port').where('until_ms', '>', nowMs).execute(),
  ]);
  const busy = new Set([...taken.map((r) => r.port), ...resting.map((r) => r.port), ...avoid]);
  const free: number[] = [];
  for (let port = range.from; port <= range.to; port++) if (!busy.has(port)) free.push(port);
  if (free.length < roles.length) return null;
  const rows: PortsTable[] = roles.map((role) => {
    const i = randomInt(free.length);
    const port = free[i]!;
    free[i] = free[free.length - 1]!;
    free.pop();
    return { port, instance_id: instanceId, role };
  });
  await db.insertInto('ports').values(rows).execute();
  return rows;
}

/** Reserves exactly `port` for the instance's `role`; false when it is taken or quarantined. */
export async function reserveExactPort(db: Q, instanceId: string, role: string, port: number, nowMs: number): Promise<boolean> {
  const [taken, resting] = await Promise.all([
    db.selectFrom('ports').select('port').where('port', '=', port).executeTakeFirst(),
    db.selectFrom('port_quarantine').select('port').where('port', '=', port).where('until_ms', '>', nowMs).executeTakeFirst(),
  ]);
  if (taken || resting) return false;
  await db.insertInto('ports').values({ port, instance_id: instanceId, role }).execute();
  return true;
}

/** Compiled once: every health check of the local driver reads its instance's ports. */
const portsQuery = precompiled((db: Q, instanceId: string) => db.selectFrom('ports').selectAll().where('instance_id', '=', instanceId).orderBy('port'), ['\u0000instance']);

export async function portsOf(db: Q, instanceId: string): Promise<PortsTable[]> {
  return portsQuery(db, instanceId);
}

/**
 * Gives up the instance's reservations of `ports` (all of them when absent) and quarantines those ports
 * until `quarantineUntilMs`.
 */
export async function releasePorts(db: Q, instanceId: string, quarantineUntilMs: number, ports?: number[]): Promise<void> {
  let select = db.selectFrom('ports').select('port').where('instance_id', '=', instanceId);
  if (ports) select = select.where('port', 'in', ports);
  const released = (await select.execute()).map((r) => r.port);
  if (released.length === 0) return;
  await db.deleteFrom('ports').where('instance_id', '=', instanceId).where('port', 'in', released).execute();
  await db
    .insertInto('port_quarantine')
    .values(released.map((port) => ({ port, until_ms: quarantineUntilMs })))
    .onConflict((oc) => oc.column('port').doUpdateSet({ until_ms: quarantineUntilMs }))
    .execute();
}

/** Gives a reserved port another role (a node retired by a reshard, or given back its role). */
export async function renamePortRole(db: Q, instanceId: string, port: number, role: string): Promise<void> {
  await db.updateTable('ports').set({ role }).where('instance_id', '=', instanceId).where('port', '=', port).execute();
}

/** Forgets quarantine entries that have ended (housekeeping; reservation ignores them anyway). */
export async function pruneQuarantine(db: Q, nowMs: number): Promise<void> {
  await db.deleteFrom('port_quarantine').where('until_ms', '<=', nowMs).execute();
}

/** The range (with quarantine and `avoid`) cannot hold the ports asked for. */
export class NoFreePortsError extends Error {
  override readonly name = 'NoFreePortsError';
}

/**
 * Reserves a port for each of `roles` the instance has not reserved yet, inside the caller's transaction:
 * `exact` ones as asked, the rest at random. Throws NoFreePortsError (nothing reserved) when it cannot.
 * Returns every reservation of the instance, by role.
 */
export async function reserveRoles(
  q: Q,
  policy: PortPolicy,
  nowMs: number,
  instanceId: string,
  roles: readonly string[],
  opts: { exact?: ReadonlyMap<string, number>; avoid?: ReadonlySet<number> } = {},
): Promise<Map<string, number>> {
  // Several processes reserve from one range: the choice below must see every other reservation.
  await lockCapacity(q);
  const have = new Set((await portsOf(q, instanceId)).map((p) => p.role));
  const missing = roles.filter((r) => !have.has(r));
  for (const [role, port] of opts.exact ?? []) {
    if (!missing.includes(role)) continue;
    if (!(await reserveExactPort(q, instanceId, role, port, nowMs))) {
      throw new NoFreePortsError(`port ${port} is in use or was released less than ${policy.quarantineMs / 1000} s ago`);
    }
  }
  const rest = missing.filter((r) => !opts.exact?.has(r));
  if ((await reservePorts(q, instanceId, rest, policy.range, nowMs, opts.avoid)) === null) {
    throw new NoFreePortsError(`no free instance ports left in ${policy.range.from}-${policy.range.to}`);
  }
  return new Map((await portsOf(q, instanceId)).map((p) => [p.role, p.port]));
}

/**
 * The local driver's port book (drivers/local/port-book.ts describes the contract) over the `ports`
 * table: every call is one transaction, so two service processes never get the same port.
 */
export function createPortBook(db: Kysely<Database>, policy: PortPolicy, now: () => number = Date.now) {
  const list = async (q: Q, instanceId: string): Promise<Map<string, number>> => new Map((await portsOf(q, instanceId)).map((p) => [p.role, p.port]));
  return {
    range: policy.range,
    list: (instanceId: string) => list(db, instanceId),
    reserve: (instanceId: string, roles: readonly string[], opts: { exact?: ReadonlyMap<string, number>; avoid?: ReadonlySet<number> } = {}) =>
      db.transaction().execute((trx) => reserveRoles(trx, policy, now(), instanceId, roles, opts)),
    async release(instanceId: string, roles?: readonly string[]) {
      await db.transaction().execute(async (trx) => {
        const have = await list(trx, instanceId);
        const ports = roles ? roles.map((r) => have.get(r)).filter((p): p is number => p !== undefined) : undefined;
        if (ports && ports.length === 0) return;
        await releasePorts(trx, instanceId, now() + policy.quarantineMs, ports);
      });
    },
    move(instanceId: string, role: string, avoid: ReadonlySet<number>) {
      return db.transaction().execute(async (trx) => {
        await lockCapacity(trx);
        // The held port is someone else's, not ours to quarantine: the reservation is simply dropped.
        await trx.deleteFrom('ports').where('instance_id', '=', instanceId).where('role', '=', role).execute();
        const got = await reservePorts(trx, instanceId, [role], policy.range, now(), avoid);
        if (!got) throw new NoFreePortsError(`no free instance ports left in ${policy.range.from}-${policy.range.to}`);
        return got[0]!.port;
      });
    },
  };
}
