/**
 * Port reservations across a class change that adds or removes nodes (reshard, type change). The domain
 * changes the reservations in the same transaction as the status change: new roles are reserved and the
 * ports of nodes that go away are kept reserved as `retired-<role>` until those nodes have stopped, so no
 * other instance can be given a port that a draining node still listens on. The engine releases them
 * (into quarantine) once the change is verified, or gives them their old roles back when it is refused.
 */
import type { Kysely, Transaction } from 'kysely';
import { portsOf, releasePorts, renamePortRole, reservePorts, type PortPolicy } from './ports-repo.ts';
import type { Database } from './schema.ts';

type Q = Kysely<Database> | Transaction<Database>;

export const RETIRED_PREFIX = 'retired-';

/**
 * Makes the reservations match `roles` (the new spec's roles): reserved roles outside it become
 * `retired-<role>`, missing ones get fresh ports. With `retireAll` (a type change: every node is replaced
 * by one of the other topology) all current roles retire. Returns false when the range is exhausted.
 */
export async function reshapePorts(trx: Q, instanceId: string, roles: string[], policy: PortPolicy, nowMs: number, retireAll = false): Promise<boolean> {
  const current = await portsOf(trx, instanceId);
  const want = new Set(retireAll ? [] : roles);
  const have = new Set<string>();
  for (const p of current) {
    if (p.role.startsWith(RETIRED_PREFIX)) continue;
    if (want.has(p.role)) {
      have.add(p.role);
      continue;
    }
    await renamePortRole(trx, instanceId, p.port, `${RETIRED_PREFIX}${p.role}`);
  }
  const missing = roles.filter((r) => !have.has(r));
  if (missing.length === 0) return true;
  return (await reservePorts(trx, instanceId, missing, policy.range, nowMs)) !== null;
}

/** The change is verified: the retired nodes are gone, their ports go into quarantine. */
export async function releaseRetiredPorts(db: Q, instanceId: string, policy: PortPolicy, nowMs: number): Promise<void> {
  const retired = (await portsOf(db, instanceId)).filter((p) => p.role.startsWith(RETIRED_PREFIX));
  if (retired.length > 0) await releasePorts(db, instanceId, nowMs + policy.quarantineMs, retired.map((p) => p.port));
}

/**
 * The change was refused: retired ports get their roles back and the ports reserved for it are released.
 * A role whose retired port is missing (already released) keeps the new port instead.
 */
export async function restoreRetiredPorts(trx: Q, instanceId: string, previousRoles: string[], policy: PortPolicy, nowMs: number): Promise<void> {
  const current = await portsOf(trx, instanceId);
  const retired = new Map(current.filter((p) => p.role.startsWith(RETIRED_PREFIX)).map((p) => [p.role.slice(RETIRED_PREFIX.length), p.port]));
  const keep = new Set(previousRoles);
  const drop: number[] = [];
  for (const p of current) {
    if (p.role.startsWith(RETIRED_PREFIX)) continue;
    if (!keep.has(p.role) || retired.has(p.role)) drop.push(p.port);
  }
  if (drop.length > 0) await releasePorts(trx, instanceId, nowMs + policy.quarantineMs, drop);
  for (const [role, port] of retired) {
    if (keep.has(role)) await renamePortRole(trx, instanceId, port, role);
    else await releasePorts(trx, instanceId, nowMs + policy.quarantineMs, [port]);
  }
}
