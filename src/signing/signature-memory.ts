/**
 * The in-memory first level of replay protection: the signatures of accepted requests, each until
 * the request it signed would fail the clock-skew check anyway. A key is a signature (or a prefix of
 * one, see domain/replay-guard.ts); the signature covers the date, method, path, query, signed
 * headers and body, so whether the client signed its nonce does not matter.
 *
 * Bounded: at most `maxEntries` keys (default 100 000, a few MB). When full it first drops every
 * expired key (a full sweep at most once per second), then, if still full, the oldest key. Evicting
 * a live key re-opens a small replay window for that one request (domain/replay-guard.ts closes it
 * for mutating requests with the store); refusing new requests instead would let one busy account
 * lock every other account out, so eviction is the lesser harm. Only requests whose signature
 * already verified are remembered, so filling the memory needs valid keys.
 */
export class SignatureMemory {
  private readonly expiries = new Map<string, number>();
  /**
   * Keys in insertion order, for evicting the oldest. Asking the Map for its first key instead costs a
   * scan over every slot deleted since its last rehash: at 100,000 entries that was 20-60 µs per
   * request once the cache was full.
   */
  private order: string[] = [];
  private head = 0;
  private lastSweepMs = -Infinity;

  constructor(readonly maxEntries = 100_000) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error('maxEntries must be a positive integer');
  }

  /** Number of remembered keys (expired ones may still be counted until the next sweep). */
  get size(): number {
    return this.expiries.size;
  }

  /**
   * Records the key until `expiresAtMs` and returns true, or returns false when the key is already
   * remembered and not yet expired (a replay).
   */
  checkAndRemember(key: string, nowMs: number, expiresAtMs: number): boolean {
    const existing = this.expiries.get(key);
    if (existing !== undefined && existing > nowMs) return false;
    if (existing === undefined) {
      if (this.expiries.size >= this.maxEntries) this.makeRoom(nowMs);
      this.order.push(key);
    }
    // An expired key seen again keeps its place in `order`: it is evicted a little early, if ever.
    this.expiries.set(key, expiresAtMs);
    return true;
  }

  /** Forgets a key (a request whose signature could not be recorded durably, so it may be sent again). */
  forget(key: string): void {
    // Its slot in `order` stays; deleting a key that is already gone is harmless when it is evicted.
    this.expiries.delete(key);
  }

  private makeRoom(nowMs: number): void {
    if (nowMs - this.lastSweepMs >= 1000) {
      this.lastSweepMs = nowMs;
      for (const [key, expiresAt] of this.expiries) {
        if (expiresAt <= nowMs) this.expiries.delete(key);
      }
      // The Map iterates in insertion order: the surviving keys are the new `order`, with no stale ones.
      this.order = [...this.expiries.keys()];
      this.head = 0;
    }
    while (this.expiries.size >= this.maxEntries && this.head < this.order.length) {
      this.expiries.delete(this.order[this.head++] as string);
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
