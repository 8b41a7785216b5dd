/**
 * Moving hash slots between two masters of a cluster while clients keep working, the way Redis Cluster
 * intends (CLUSTER SETSLOT IMPORTING / MIGRATING, MIGRATE, SETSLOT NODE): during the move the source
 * answers for keys it still has and sends ASK for the others, so a client that follows ASK loses nothing.
 * Every step tolerates having been done already, so a move cut short by a crash is finished by running
 * it again with the same arguments.
 */
import type { Redis } from 'ioredis';
import { ADMIN_USER } from './acl-rules.ts';

/** A master taking part in a move. */
export interface SlotNode {
  id: string;
  /** Client port (names the node in logs). */
  port: number;
  /** TLS port: MIGRATE goes over the nodes' mutually authenticated TLS link, never the client port. */
  tlsPort: number;
  client: Redis;
}

export interface MigrateOptions {
  /** Address the source reaches the destination on. */
  host: string;
  /**
   * The instance's admin password: MIGRATE authenticates to the destination as the admin user, inside a
   * TLS session whose peer presented a certificate from the service's CA.
   */
  adminPassword: string;
  signal: AbortSignal;
  /** Keys per MIGRATE call. Default 200: small enough that the source is never blocked for long. */
  keysPerCall?: number;
}

/** Slots moved per round: one pipelined round trip per step for all of them. Each round costs the nodes a
 * nodes.conf fsync per step; more slots per round means fewer fsyncs but a longer pause for other clients. */
export const SLOTS_PER_ROUND = 512;
/** MIGRATE's own I/O timeout, in ms; below the admin connection's command timeout. */
const MIGRATE_TIMEOUT_MS = 2_000;

type Reply = [Error | null, unknown];

async function pipelined(client: Redis, commands: Array<Array<string | number>>): Promise<Reply[]> {
  if (commands.length === 0) return [];
  const p = client.pipeline();
  for (const [name, ...args] of commands) p.call(String(name), ...args.map(String));
  return ((await p.exec()) ?? []) as Reply[];
}

function failIfAny(replies: Reply[], what: string, ignore: RegExp | null = null): void {
  for (const [err] of replies) {
    if (err && !(ignore && ignore.test(err.message))) throw new Error(`${what}: ${err.message}`);
  }
}

/**
 * Moves `slots` (at most a few hundred; see SLOTS_PER_ROUND) from `src` to `dst` with their keys.
 * Returns the number of keys moved. Safe to call again on slots it already moved or half moved.
 */
export async function migrateSlots(src: SlotNode, dst: SlotNode, slots: readonly number[], opts: MigrateOptions): Promise<number> {
  const batch = opts.keysPerCall ?? 200;
  // Destination first, as Redis documents: a key that a client creates via ASK lands on a node ready for it.
  const imp = await pipelined(dst.client, slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'IMPORTING', src.id]));
  failIfAny(imp, `node ${dst.port} refused to import`, /already the owner/);
  const mig = await pipelined(src.client, slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'MIGRATING', dst.id]));
  failIfAny(mig, `node ${src.port} refused to migrate`, /not the owner/);
  // A slot the source no longer owns has no keys left there: only the final SETSLOT NODE remains.
  let open = slots.filter((_, i) => !imp[i]![0] && !mig[i]![0]);
  let moved = 0;
  while (open.length > 0) {
    opts.signal.throwIfAborted();
    const keyReplies = await pipelined(src.client, open.map((s) => ['CLUSTER', 'GETKEYSINSLOT', s, batch]));
    failIfAny(keyReplies, `node ${src.port} could not list keys`);
    const calls: Array<Array<string | number>> = [];
    const next: number[] = [];
    open.forEach((slot, i) => {
      const keys = keyReplies[i]![1] as string[];
      if (keys.length === 0) return;
      next.push(slot);
      // REPLACE: a move interrupted between the destination's RESTORE and the source's DEL leaves the
      // key on both; the source's copy is the current one (clients only write a key where it exists).
      calls.push(['MIGRATE', opts.host, dst.tlsPort, '', 0, MIGRATE_TIMEOUT_MS, 'REPLACE', 'AUTH2', ADMIN_USER, opts.adminPassword, 'KEYS', ...keys]);
      moved += keys.length;
    });
    failIfAny(await pipelined(src.client, calls), `MIGRATE from ${src.port} to ${dst.port}`);
    open = next;
  }
  // Destination first, then the source (which Redis refuses while it still holds keys in a slot).
  // SETSLOT NODE on an importing slot makes the destination bump its config epoch above every other node
  // (if it is not already the greatest) and broadcast a pong to every node, per slot: hundreds of full slot
  // bitmaps per round that every node must process. So only the first slot of the round takes that path,
  // for the epoch: from then on the destination's claims beat the source's, even if we crash before the
  // source lets go (a claim under a lower epoch would lose, and Redis would delete the moved keys). The
  // others are closed (STABLE) and claimed without a broadcast, adjacently in the same pipeline; the last
  // one takes the importing path again, so one broadcast carries all of the round's slots.
  const claims: Array<Array<string | number>> = [];
  slots.forEach((s, i) => {
    if (i > 0 && i < slots.length - 1) claims.push(['CLUSTER', 'SETSLOT', s, 'STABLE']);
    claims.push(['CLUSTER', 'SETSLOT', s, 'NODE', dst.id]);
  });
  failIfAny(await pipelined(dst.client, claims), `node ${dst.port} could not take the slots`);
  failIfAny(await pipelined(src.client, slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'NODE', dst.id])), `node ${src.port} could not hand over the slots`);
  return moved;
}

/** Closes `slots` that were left importing on `node` from a source that no longer exists. */
export async function closeSlots(node: SlotNode, slots: readonly number[]): Promise<void> {
  failIfAny(await pipelined(node.client, slots.map((s) => ['CLUSTER', 'SETSLOT', s, 'STABLE'])), `node ${node.port} could not close slots`);
}
