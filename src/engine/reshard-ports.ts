/**
 * Port reservations across a class change that adds or removes nodes (reshard, type change). The domain
 * changes the reservations in the same transaction as the status change: new `s<N>-*` roles are reserved
 * and the ports of nodes that go away are kept reserved as `retired-<role>` until those nodes have
 * stopped, so no other instance can be given a port that a draining node still listens on. The engine
 * releases them once the change is verified, or gives them their old roles back when it is refused.
 */
import type { Kysely, Transaction } from 'kysely';
import { portsOf, releasePorts, reservePorts } from '../store/ports-repo.ts';
import type { Database } from '../store/schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

export const RETIRED_PREFIX = 'retired-';

/**
 * Makes the reservations match `roles` (the new spec's roles): reserved roles outside it become
 * `retired-<role>`, missing ones get fresh ports from `range`. With `retireAll` (a type change: every
 * node is replaced by one of the other topology) all current roles retire. Returns false when the range
 * is exhausted.
 */
export async function reshapePorts(
  trx: Q,
  instanceId: string,
  roles: string[],
  range: { from: number; to: number },
  retireAll = false,
): Promise<boolean> {
  const current = await portsOf(trx, instanceId);
  const want = new Set(retireAll ? [] : roles);
  const have = new Set<string>();
  for (const p of current) {
    if (p.role.startsWith(RETIRED_PREFIX)) continue;
    if (want.has(p.role)) {
      have.add(p.role);
      continue;
    }
    await releasePorts(trx, instanceId, [p.port]);
    await reservePorts(trx, instanceId, [`${RETIRED_PREFIX}${p.role}`], { from: p.port, to: p.port });
  }
  const missing = roles.filter((r) => !have.has(r));
  if (missing.length === 0) return true;
  return (await reservePorts(trx, instanceId, missing, range)) !== null;
}

/** The change is verified: the retired nodes are gone, their ports are free for anyone. */
export async function releaseRetiredPorts(db: Q, instanceId: string): Promise<void> {
  const retired = (await portsOf(db, instanceId)).filter((p) => p.role.startsWith(RETIRED_PREFIX));
  if (retired.length > 0) await releasePorts(db, instanceId, retired.map((p) => p.port));
}

/**
 * The change was refused: retired ports get their roles back and the ports reserved for it are released.
 * A role whose retired port is missing (already released) keeps the new port instead.
 */
export async function restoreRetiredPorts(trx: Q, instanceId: string, previousRoles: string[]): Promise<void> {
  const current = await portsOf(trx, instanceId);
  const retired = new Map(current.filter((p) => p.role.startsWith(RETIRED_PREFIX)).map((p) => [p.role.slice(RETIRED_PREFIX.length), p.port]));
  const keep = new Set(previousRoles);
  for (const p of current) {
    if (p.role.startsWith(RETIRED_PREFIX)) continue;
    if (!keep.has(p.role) || retired.has(p.role)) await releasePorts(trx, instanceId, [p.port]);
  }
  for (const [role, port] of retired) {
    await releasePorts(trx, instanceId, [port]);
    if (keep.has(role)) await reservePorts(trx, instanceId, [role], { from: port, to: port });
  }
}
