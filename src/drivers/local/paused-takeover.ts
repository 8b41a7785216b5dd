/**
 * Hands a cluster shard from the node serving it (`current`) to its caught-up replica (`next`) without an
 * election, and without losing an acknowledged write: the current master's writes are paused, the replica
 * catches up to the paused offset, takes the shard with `CLUSTER FAILOVER TAKEOVER` (no votes needed, a
 * newer config epoch), and the pause lasts until the old master has turned into a replica, so a write it
 * took meanwhile answers MOVED instead of being acknowledged and then dropped.
 *
 * Why not the coordinated `CLUSTER FAILOVER`: it needs the votes of a majority of masters, and a master
 * refuses to vote for a replica of the same master twice within 2 × cluster-node-timeout; a replica whose
 * election failed waits 4 × cluster-node-timeout before it tries again. A shard failed back once (a new
 * cluster's first fail-back) and then fenced within seconds could not be handed back for 20 s or more.
 */
import type { Redis } from 'ioredis';
import { readInfo } from './node-state.ts';
import { sleep } from './redis-node.ts';

/** Longest time the current master's writes stay paused; the pause is lifted earlier once it is a replica. */
const PAUSE_MS = 10_000;
/** How long the replica may take to reach the paused offset before the attempt is given up. */
const CATCH_UP_MS = 3_000;
const POLL_MS = 20;

export type TakeoverResult = 'taken' | 'not-caught-up' | 'old-master-kept-role';

export async function pausedTakeover(current: Redis, next: Redis, signal: AbortSignal): Promise<TakeoverResult> {
  await current.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
  let handedOver = false;
  try {
    const target = Number((await readInfo(current, 'replication')).get('master_repl_offset'));
    const caughtUp = await until(signal, CATCH_UP_MS, async () => Number((await readInfo(next, 'replication')).get('slave_repl_offset')) >= target);
    if (!caughtUp) return 'not-caught-up';
    await next.call('CLUSTER', 'FAILOVER', 'TAKEOVER');
    handedOver = true;
    // The new epoch reaches the old master by gossip in a few ms; until then it stays paused.
    const demoted = await until(signal, PAUSE_MS - CATCH_UP_MS, async () => (await readInfo(current, 'replication')).get('role') === 'slave');
    return demoted ? 'taken' : 'old-master-kept-role';
  } finally {
    // Lifted early only when no write can be acknowledged there any more: before the takeover (nothing
    // changed hands) or once the old master replicates. Otherwise the pause runs out by itself.
    if (!handedOver || (await readInfo(current, 'replication').then((i) => i.get('role') === 'slave', () => false))) {
      await current.call('CLIENT', 'UNPAUSE').catch(() => undefined);
    }
  }
}

async function until(signal: AbortSignal, ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    signal.throwIfAborted();
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(POLL_MS, signal);
  }
}
