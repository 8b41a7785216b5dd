import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Serialised read results (describe, list pages), valid for one value of the store's change counter.
 *
 * Clients poll: the SDKs' callers and CI pipelines describe an instance or list a page again and
 * again while nothing changes. Such a read is answered with the bytes the last identical read
 * produced, which saves the store query, the row mapping and the JSON serialisation (bench:api: a
 * signed 100-row page costs ~2.1 ms of server CPU uncached, ~0.17 ms cached, most of it the signature
 * check). Any committed change anywhere in the store moves the counter and drops every entry, so an
 * answer is never older than the last write: reads after a write always see it. Keys hold the
 * account and region, so tenancy is the same as the uncached path's.
 *
 * Bounded by the bytes held (LRU): a flood of distinct queries evicts, it does not grow the heap.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Buffer>();
  private version: string | undefined;
  private bytes = 0;

  constructor(
    /** The store's change counter; undefined means "cannot vouch now": the read is not cached. */
    private readonly storeVersion: () => string | undefined,
    private readonly maxBytes = 32 * 1024 * 1024,
  ) {}

  /**
   * Sends the envelope `{requestId, result}` for `key`, from the cache when the store has not
   * changed since it was filled, or by running `read` and serialising with the route's schema.
   */
  async send(request: FastifyRequest, reply: FastifyReply, key: string, read: () => Promise<unknown>): Promise<FastifyReply> {
    // Read the counter before the store: a result read after it is at least that new.
    const version = this.storeVersion();
    if (version !== undefined && version !== this.version) this.clear(version);
    const head = `{"requestId":"${request.id}"`;
    const hit = version !== undefined ? this.entries.get(key) : undefined;
    if (hit) {
      this.entries.delete(key); // re-insert: Map order is the LRU order
      this.entries.set(key, hit);
      // One buffer for head and tail (the head is ASCII: one byte a character).
      const body = Buffer.allocUnsafe(head.length + hit.length);
      body.write(head, 0, 'latin1');
      hit.copy(body, head.length);
      return reply.type('application/json; charset=utf-8').send(body);
    }
    // With a response schema Fastify's serializer returns a string (its type also allows buffers).
    const body = String(reply.serialize({ requestId: request.id, result: await read() }));
    // The schema puts requestId first; anything else would make the cached tail wrong, so check.
    if (version !== undefined && body.startsWith(head)) this.remember(key, version, Buffer.from(body.slice(head.length), 'utf8'));
    return reply.type('application/json; charset=utf-8').send(body);
  }

  private remember(key: string, version: string, tail: Buffer): void {
    if (version !== this.version || tail.length > this.maxBytes / 4) return;
    const old = this.entries.get(key); // two identical reads missed at once
    if (old) this.bytes -= old.length;
    this.entries.delete(key);
    this.entries.set(key, tail);
    this.bytes += tail.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.length;
    }
  }

  private clear(version: string): void {
    this.entries.clear();
    this.bytes = 0;
    this.version = version;
  }
}
