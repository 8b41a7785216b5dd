import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** One cached answer: the whole envelope as first sent, whose requestId is replaced for each answer. */
interface Entry {
  body: Buffer;
  /** Bytes of the requestId in `body`, which starts at ID_AT. */
  idBytes: number;
  /** The response that last sent `body` itself (not a copy): until it is flushed, `body` must not change. */
  sentBy: ServerResponse | undefined;
}

const HEAD = '{"requestId":"';
const ID_AT = HEAD.length;
/**
 * Bodies from this size are sent from the cache itself rather than a copy, when no earlier answer is
 * still being written from it. A 100-row page is ~86 KB: copying it cost bench:api's list route a
 * fifth of its time (the copy, and the garbage collections its off-heap buffers set off). Smaller
 * bodies are copied: their buffers come from Node's pool, and keeping a response per entry would not pay.
 */
const SHARE_FROM = 16 * 1024;

/**
 * Serialised read results (describe, list pages), valid for one value of the store's change counter.
 *
 * Clients poll: the SDKs' callers and CI pipelines describe an instance or list a page again and
 * again while nothing changes. Such a read is answered with the bytes the last identical read
 * produced, which saves the store query, the row mapping and the JSON serialisation (bench:api: a
 * signed 100-row page costs ~2.2 ms of server CPU uncached, ~0.1 ms cached, most of it the signature
 * check and the write). Any committed change anywhere in the store moves the counter and drops every
 * entry, so an answer is never older than the last write: reads after a write always see it. Keys
 * hold the account and region, so tenancy is the same as the uncached path's.
 *
 * Bounded by the bytes held, keys included (LRU): a flood of distinct queries evicts, it does not
 * grow the heap.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
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
   * Errors thrown by `read` (validation included) propagate and leave nothing cached.
   */
  async send(request: FastifyRequest, reply: FastifyReply, key: string, read: () => Promise<unknown>): Promise<FastifyReply> {
    // Read the counter before the store: a result read after it is at least that new.
    const version = this.storeVersion();
    if (version !== undefined && version !== this.version) this.clear(version);
    const hit = version !== undefined ? this.entries.get(key) : undefined;
    if (hit) {
      this.entries.delete(key); // re-insert: Map order is the LRU order
      this.entries.set(key, hit);
      return reply.type('application/json; charset=utf-8').send(this.answer(hit, request.id, reply.raw));
    }
    // With a response schema Fastify's serializer returns a string (its type also allows buffers).
    const body = String(reply.serialize({ requestId: request.id, result: await read() }));
    // The schema puts requestId first; anything else would make the cached bytes wrong, so check.
    if (version !== undefined && body.startsWith(`${HEAD}${request.id}"`)) {
      this.remember(key, version, { body: Buffer.from(body, 'utf8'), idBytes: Buffer.byteLength(request.id), sentBy: undefined });
    }
    return reply.type('application/json; charset=utf-8').send(body);
  }

  /** The entry's body with `id` as its requestId, in place when that is safe, else in a new buffer. */
  private answer(entry: Entry, id: string, res: ServerResponse): Buffer {
    const idBytes = Buffer.byteLength(id);
    if (idBytes !== entry.idBytes) {
      return Buffer.concat([Buffer.from(HEAD + id, 'utf8'), entry.body.subarray(ID_AT + entry.idBytes)]);
    }
    // writableFinished: every byte of that response went to the kernel, which copied it.
    if (entry.body.length >= SHARE_FROM && (entry.sentBy === undefined || entry.sentBy.writableFinished)) {
      entry.body.write(id, ID_AT, 'utf8');
      entry.sentBy = res;
      return entry.body;
    }
    const copy = Buffer.allocUnsafe(entry.body.length);
    entry.body.copy(copy);
    copy.write(id, ID_AT, 'utf8');
    return copy;
  }

  private remember(key: string, version: string, entry: Entry): void {
    const size = entry.body.length + key.length;
    if (version !== this.version || size > this.maxBytes / 4) return;
    const old = this.entries.get(key); // two identical reads missed at once
    if (old) this.bytes -= old.body.length + key.length;
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.bytes += size;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.body.length + k.length;
    }
  }

  private clear(version: string): void {
    this.entries.clear();
    this.bytes = 0;
    this.version = version;
  }
}
