import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import { SignatureMemory } from '../signing/signature-memory.ts';
import type { Db } from '../store/open-store.ts';
import { deleteExpiredSignatures, insertSignature, insertSignatures, unexpiredSignatures } from '../store/signatures-repo.ts';
import type { UsedSignaturesTable } from '../store/schema.ts';
import { DomainError } from './domain-error.ts';

export interface ReplayGuardOptions {
  db: Db;
  logger: Logger;
  /** The in-memory first level. Default: a SignatureMemory of 100,000 keys. */
  memory?: SignatureMemory;
  /** How often the signatures of reads are written to the store, in one go. Default 150 ms. */
  flushEveryMs?: number;
  /** How often expired signatures are deleted from the store. Default 60 s. */
  pruneEveryMs?: number;
  now?: () => number;
}

/** Signatures are remembered by their first 32 hex characters: 128 bits, half the bytes in the store. */
const KEY_LENGTH = 32;
/** Read signatures waiting for the store beyond this many are written at once, not at the next tick. */
const FLUSH_AT = 5_000;
/** While the store refuses writes, at most this many read signatures wait; the oldest are dropped. */
const MAX_PENDING = 100_000;
/** Expired rows deleted per statement, so one prune never blocks the event loop for long. */
const PRUNE_CHUNK = 5_000;

/**
 * Replay protection that does not depend on the client signing its nonce and survives restarts.
 *
 * Every accepted request's signature is remembered until the request would fail the clock-skew
 * check anyway (x-jdcloud-date + 15 minutes). The signature covers date, method, path, query,
 * signed headers and body, so a request captured on the wire cannot be sent again with a fresh
 * x-jdcloud-nonce, whether or not the client signed the nonce (the Python SDK does not).
 *
 * Two levels: a bounded in-memory SignatureMemory answers at once; the store (table
 * `used_signatures`) makes it durable. A mutating request's signature is written to the store
 * before the request runs, and the store's primary key decides (a conflict is a replay), so a
 * mutation can never run twice, across restarts and even after its key left the memory. A read's
 * signature is written behind, every `flushEveryMs`, in batches: a read is refused as a replay while
 * its key is in memory (the last 100,000 signed requests; all of the 15-minute window below ~110
 * requests/s), and after a crash only the reads of the last flush interval are forgotten. On start the
 * newest unexpired signatures are loaded back into memory.
 *
 * Consequence: a client that does not sign its nonce cannot send two byte-identical requests in the
 * same second (same date, same signature); the second is refused as a replay.
 */
export class ReplayGuard {
  private readonly db: Db;
  private readonly logger: Logger;
  private readonly memory: SignatureMemory;
  private readonly now: () => number;
  private pending: UsedSignaturesTable[] = [];
  private flushing: Promise<void> | null = null;
  private pruning: Promise<void> | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  private constructor(opts: ReplayGuardOptions) {
    this.db = opts.db;
    this.logger = opts.logger;
    this.memory = opts.memory ?? new SignatureMemory();
    this.now = opts.now ?? Date.now;
  }

  /** Loads the unexpired signatures from the store and starts writing and pruning. */
  static async open(opts: ReplayGuardOptions): Promise<ReplayGuard> {
    const guard = new ReplayGuard(opts);
    const nowMs = guard.now();
    const rows = await unexpiredSignatures(opts.db, nowMs, guard.memory.maxEntries);
    // Oldest first, so the memory evicts them first.
    for (let i = rows.length - 1; i >= 0; i--) guard.memory.checkAndRemember(rows[i]!.signature, nowMs, Number(rows[i]!.expires_ms));
    guard.timers.push(setInterval(() => void guard.flush(), opts.flushEveryMs ?? 150).unref());
    guard.timers.push(setInterval(() => void guard.prune(), opts.pruneEveryMs ?? 60_000).unref());
    void guard.prune();
    return guard;
  }

  /**
   * Admits a verified request's signature the first time and refuses it (false) every later time
   * until `expiresAtMs`. With `durable` (mutating requests) the answer waits for the store; a store
   * that cannot record it makes the request fail with UNAVAILABLE rather than run unprotected.
   */
  admit(signature: string, expiresAtMs: number, durable: boolean): boolean | Promise<boolean> {
    const key = signature.slice(0, KEY_LENGTH);
    if (!this.memory.checkAndRemember(key, this.now(), expiresAtMs)) return false;
    const row = { signature: key, expires_ms: expiresAtMs };
    if (!durable) {
      this.pending.push(row);
      if (this.pending.length >= FLUSH_AT) void this.flush();
      return true;
    }
    return insertSignature(this.db, row).catch((err: unknown) => {
      this.memory.forget(key);
      this.logger.warn({ err: (err as Error).message }, 'could not record a request signature; the request is refused');
      throw new DomainError('UNAVAILABLE', 'the service could not record the request for replay protection; retry with a new signature');
    });
  }

  /** Writes the pending read signatures now (also what the timer does). */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => (this.flushing = null));
    return this.flushing;
  }

  /** Stops the timers and writes what is pending. The store stays open (the caller owns it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.pruning;
    await this.flushing;
    await this.flush();
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      const present = await insertSignatures(this.db, batch);
      // Only possible for a read whose key had left the bounded memory: it was answered already.
      if (present > 0) this.logger.warn({ replays: present }, 'read requests were replayed after their signatures left memory');
    } catch (err) {
      this.pending = batch.concat(this.pending).slice(-MAX_PENDING);
      this.logger.warn({ err: (err as Error).message, pending: this.pending.length }, 'could not record read signatures; will retry');
    }
  }

  private prune(): Promise<void> {
    this.pruning ??= (async () => {
      try {
        while (!this.closed && (await deleteExpiredSignatures(this.db, this.now(), PRUNE_CHUNK)) >= PRUNE_CHUNK) await nextTurn();
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'could not delete expired request signatures; will retry');
      }
    })().finally(() => (this.pruning = null));
    return this.pruning;
  }
}
