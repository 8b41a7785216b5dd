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
    // JSON keeps the two parts unambiguous whatever characters they contain.
    const key = JSON.stringify([accessKey, nonce]);
    const existing = this.expiries.get(key);
    if (existing !== undefined && existing > nowMs) return false;
    if (existing !== undefined) this.expiries.delete(key);
    if (this.expiries.size >= this.maxEntries) this.makeRoom(nowMs);
    this.expiries.set(key, expiresAtMs);
    return true;
  }

  private makeRoom(nowMs: number): void {
    if (nowMs - this.lastSweepMs >= 1000) {
      this.lastSweepMs = nowMs;
      for (const [key, expiresAt] of this.expiries) {
        if (expiresAt <= nowMs) this.expiries.delete(key);
      }
    }
    // Map iteration is insertion order, so the first key is the oldest remembered pair.
    while (this.expiries.size >= this.maxEntries) {
      const oldest = this.expiries.keys().next();
      if (oldest.done) break;
      this.expiries.delete(oldest.value);
    }
  }
}
