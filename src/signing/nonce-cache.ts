/**
 * Remembers the (access key, nonce) pairs of accepted requests for as long as those requests could
 * still pass the clock-skew check, so a captured request cannot be replayed.
 *
 * Bounded: at most `maxEntries` pairs (default 100 000, a few MB). When full it first drops every
 * expired pair (a full sweep at most once per second), then, if still full, the oldest pair. Evicting
 * a live pair re-opens a small replay window for that one request; refusing new requests instead
 * would let one busy account lock every other account out, so eviction is the lesser harm. Only
 * requests whose signature already verified are remembered, so filling the cache needs valid keys.
 * In-memory and per process: several API processes behind one endpoint would each keep their own.
 */
export class NonceCache {
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

  /** Number of remembered pairs (expired ones may still be counted until the next sweep). */
  get size(): number {
    return this.expiries.size;
  }

  /**
   * Records the pair until `expiresAtMs` and returns true, or returns false when the pair is already
   * remembered and not yet expired (a replay).
   */
  checkAndRemember(accessKey: string, nonce: string, nowMs: number, expiresAtMs: number): boolean {
    // A header value cannot hold a line feed, so the access key ends at the first one.
    const key = `${accessKey}\n${nonce}`;
    const existing = this.expiries.get(key);
    if (existing !== undefined && existing > nowMs) return false;
    if (existing === undefined) {
      if (this.expiries.size >= this.maxEntries) this.makeRoom(nowMs);
      this.order.push(key);
    }
    // An expired pair seen again keeps its place in `order`: it is evicted a little early, if ever.
    this.expiries.set(key, expiresAtMs);
    return true;
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
