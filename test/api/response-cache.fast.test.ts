/**
 * The read cache on its own: ResponseCache in a small Fastify app (the version function is the
 * test's, so each rule can be driven), and the store's change counter on a real SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { afterAll, describe, expect, it } from 'vitest';
import { ResponseCache } from '../../src/api/response-cache.ts';
import { changeCounter } from '../../src/store/change-counter.ts';
import { openStore } from '../../src/store/open-store.ts';
import { insertInstance, updateInstance } from '../../src/store/instances-repo.ts';
import { deleteExpiredSignatures, insertSignature, insertSignatures } from '../../src/store/signatures-repo.ts';
import { createAccount } from '../../src/domain/accounts/account-service.ts';
import { instanceRow } from '../helpers/instance-row.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function appWith(version: () => string | undefined, maxBytes?: number) {
  const cache = new ResponseCache(version, maxBytes);
  let reads = 0;
  let value = 'first';
  const app = Fastify({ genReqId: () => `req${Math.random().toString(36).slice(2, 12)}` });
  const response = { 200: Type.Object({ requestId: Type.String(), result: Type.Object({ value: Type.String(), pad: Type.String() }) }) };
  app.get('/item/:key', { schema: { response } }, async (request, reply) => {
    const key = (request.params as { key: string }).key;
    return cache.send(request, reply, key, async () => {
      reads++;
      return { value: `${value}:${key}`, pad: 'x'.repeat(1000), ignored: 'not in the schema' };
    });
  });
  const get = async (key: string) => {
    const res = await app.inject({ method: 'GET', url: `/item/${key}` });
    return { status: res.statusCode, type: res.headers['content-type'], body: res.json() as { requestId: string; result: { value: string } } };
  };
  return { app, get, reads: () => reads, setValue: (v: string) => (value = v) };
}

describe('ResponseCache', () => {
  it('answers an identical read from the cache while the version stays, with a fresh requestId each time', async () => {
    let version = 'v1';
    const t = await appWith(() => version);
    const a = await t.get('k');
    t.setValue('second');
    const b = await t.get('k');
    expect(t.reads()).toBe(1);
    expect(b.body.result.value).toBe('first:k');
    expect(b.body.requestId).not.toBe(a.body.requestId);
    expect(b.type).toBe('application/json; charset=utf-8');
    // The schema still shapes the cached bytes: keys outside it were dropped when they were made.
    expect(JSON.stringify(b.body)).not.toContain('ignored');
    version = 'v2';
    expect((await t.get('k')).body.result.value).toBe('second:k');
    expect(t.reads()).toBe(2);
  });

  it('caches nothing while the version is unknown (a transaction is open)', async () => {
    const t = await appWith(() => undefined);
    await t.get('k');
    t.setValue('second');
    expect((await t.get('k')).body.result.value).toBe('second:k');
    expect(t.reads()).toBe(2);
  });

  it('keeps within its byte bound by dropping the least recently used entries', async () => {
    // Each entry is ~1 KB; the bound holds four.
    const t = await appWith(() => 'v', 4 * 1024 + 512);
    for (const k of ['a', 'b', 'c', 'd']) await t.get(k);
    await t.get('a'); // a is now the most recent
    await t.get('e'); // evicts b, the least recently used
    expect(t.reads()).toBe(5);
    for (const k of ['a', 'c', 'd', 'e']) await t.get(k);
    expect(t.reads()).toBe(5);
    await t.get('b');
    expect(t.reads()).toBe(6);
  });
});

describe('ResponseCache with large bodies (sent from the cache itself)', () => {
  /** A stand-in reply whose response reports, as the test says, whether its bytes are all flushed. */
  function fakeReply(sent: Buffer[]) {
    const raw = { writableFinished: false };
    const reply = {
      raw,
      type: () => reply,
      serialize: (value: unknown) => JSON.stringify(value),
      send: (body: Buffer | string) => {
        sent.push(Buffer.isBuffer(body) ? body : Buffer.from(body));
        return reply;
      },
    };
    return reply;
  }
  const ask = (cache: ResponseCache, id: string, reply: ReturnType<typeof fakeReply>) =>
    cache.send({ id } as FastifyRequest, reply as unknown as FastifyReply, 'big', async () => ({ pad: 'y'.repeat(20_000) }));
  const idOf = (b: Buffer) => (JSON.parse(b.toString('utf8')) as { requestId: string }).requestId;

  it('never rewrites a body a response has not finished writing', async () => {
    const cache = new ResponseCache(() => 'v');
    const sent: Buffer[] = [];
    await ask(cache, 'a'.repeat(32), fakeReply(sent)); // miss: fills the entry
    const first = fakeReply(sent);
    await ask(cache, 'b'.repeat(32), first); // hit: the cached buffer itself
    await ask(cache, 'c'.repeat(32), fakeReply(sent)); // first still writing: a copy
    expect(sent.map(idOf)).toEqual(['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)]);
    expect(sent[2]).not.toBe(sent[1]);
    first.raw.writableFinished = true;
    await ask(cache, 'd'.repeat(32), fakeReply(sent)); // first done: the cached buffer again
    expect(sent[3]).toBe(sent[1]);
    expect(idOf(sent[3]!)).toBe('d'.repeat(32));
    expect(idOf(sent[2]!)).toBe('c'.repeat(32));
  });

  it('answers a requestId of another length from the same entry', async () => {
    const cache = new ResponseCache(() => 'v');
    const sent: Buffer[] = [];
    await ask(cache, 'a'.repeat(32), fakeReply(sent));
    await ask(cache, 'short', fakeReply(sent));
    await ask(cache, 'e'.repeat(40), fakeReply(sent));
    expect(sent.map(idOf)).toEqual(['a'.repeat(32), 'short', 'e'.repeat(40)]);
    expect(sent.every((b) => b.length > 20_000)).toBe(true);
  });
});

describe('changeCounter', () => {
  it('moves on every change this process commits, and says nothing inside a transaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jcs-counter-'));
    dirs.push(dir);
    const db = await openStore(join(dir, 'jcs-redis.db'));
    try {
      await createAccount(db, { accessKey: 'AK', secretKey: 'SK' });
      const version = changeCounter(db);
      const v0 = version();
      expect(v0).toBeDefined();
      expect(version()).toBe(v0);
      await insertInstance(db, instanceRow({ id: 'redis-counter00001', account: 'AK' }), []);
      const v1 = version();
      expect(v1).not.toBe(v0);
      await db.transaction().execute(async (trx) => {
        await updateInstance(trx, 'redis-counter00001', { name: 'inside' });
        expect(version()).toBeUndefined();
      });
      expect(version()).not.toBe(v1);
      // An update that matches no row changes nothing, so the counter stays.
      const v2 = version();
      await updateInstance(db, 'redis-nosuchrow0000', { name: 'x' });
      expect(version()).toBe(v2);
    } finally {
      await db.destroy();
    }
  });

  it('stays put when only the replay guard\'s signatures are written, and still moves on the next real change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jcs-counter-'));
    dirs.push(dir);
    const db = await openStore(join(dir, 'jcs-redis.db'));
    try {
      await createAccount(db, { accessKey: 'AK', secretKey: 'SK' });
      const version = changeCounter(db);
      const v0 = version();
      const until = Date.now() + 60_000;
      expect(await insertSignature(db, { signature: 'a'.repeat(32), expires_ms: until })).toBe(true);
      expect(await insertSignatures(db, [{ signature: 'b'.repeat(32), expires_ms: until }])).toBe(0);
      expect(await deleteExpiredSignatures(db, until + 1, 10)).toBe(2);
      expect(version()).toBe(v0);
      await insertInstance(db, instanceRow({ id: 'redis-counter00002', account: 'AK' }), []);
      expect(version()).not.toBe(v0);
    } finally {
      await db.destroy();
    }
  });

  it('sees a commit by another process within its 250 ms check interval', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jcs-counter-'));
    dirs.push(dir);
    const file = join(dir, 'jcs-redis.db');
    const db = await openStore(file);
    let clock = 0;
    try {
      const version = changeCounter(db, () => clock);
      const before = version();
      const other = new SqliteDatabase(file);
      other.prepare("insert into accounts (access_key, secret_key, created_at) values ('OTHER', 'S', '2026-01-01')").run();
      other.close();
      clock += 100;
      expect(version()).toBe(before);
      clock += 150;
      expect(version()).not.toBe(before);
    } finally {
      await db.destroy();
    }
  });
});
