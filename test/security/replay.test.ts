/**
 * Attack (issue 11, observation 7): a request whose x-jdcloud-nonce is not among the signed headers
 * (the Python SDK signs only content-type;host) was replayed with a fresh nonce, and a captured
 * resetCacheInstancePassword replayed after a restart reverted a rotated password. Both must fail:
 * every accepted signature is remembered for its whole validity window, in the store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '../../src/domain/domain-error.ts';
import { ReplayGuard } from '../../src/domain/replay-guard.ts';
import { SignatureMemory } from '../../src/signing/signature-memory.ts';
import { signRequest } from '../../src/signing/sign-request.ts';
import { openStore, type Db } from '../../src/store/open-store.ts';
import { deleteExpiredSignatures, insertSignature, insertSignatures, unexpiredSignatures } from '../../src/store/signatures-repo.ts';
import { msSpec, startTestService, TEST_AK, TEST_SK, waitForStatus, type TestService } from '../helpers/test-service.ts';

const silent = pino({ level: 'silent' });
const sig = (n: number): string => n.toString(16).padStart(8, '0').padEnd(64, 'f');

interface Captured {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Signs a request like the Python SDK (SignedHeaders=content-type;host: date and nonce unsigned) and keeps what went on the wire. */
function pythonStyle(baseUrl: string, method: string, path: string, body?: unknown): Captured {
  const host = new URL(baseUrl).host;
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', host };
  Object.assign(
    headers,
    signRequest({ method, path, headers, body: text }, { accessKey: TEST_AK, secretKey: TEST_SK }, { region: 'cn-north-1', signedHeaders: ['content-type', 'host'] }),
  );
  expect(headers.authorization).toContain('SignedHeaders=content-type;host,');
  return { method, path, headers, body: text };
}

/** Sends a captured request again, byte for byte, except for the headers in `change`. */
async function send(baseUrl: string, c: Captured, change: Record<string, string> = {}): Promise<{ status: number; json: { error?: { status: string; message: string } } }> {
  const { host: _host, ...headers } = { ...c.headers, ...change };
  const res = await fetch(`${baseUrl}${c.path}`, { method: c.method, headers, body: c.body });
  return { status: res.status, json: (await res.json()) as { error?: { status: string; message: string } } };
}

describe('ReplayGuard over a real SQLite store', () => {
  let dir = '';
  let db: Db;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'jcs-replay-'));
  });
  afterAll(async () => {
    await db?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the store: any number of rows in chunks, duplicates counted, oldest expired deleted first in bounded steps', async () => {
    const repo = await openStore(join(dir, 'repo.db'));
    try {
      const rows = Array.from({ length: 1_000 }, (_, i) => ({ signature: sig(100_000 + i).slice(0, 32), expires_ms: 1_000 + i }));
      expect(await insertSignatures(repo, rows)).toBe(0);
      // 1,000 = 3 × 256 + 128 + 64 + 32 + 8: every shape once; a second pass finds every row present.
      expect(await insertSignatures(repo, rows.slice(0, 299))).toBe(299);
      expect(await insertSignature(repo, rows[5]!)).toBe(false);
      expect((await unexpiredSignatures(repo, 1_997, 10)).map((r) => Number(r.expires_ms))).toEqual([1_999, 1_998]);
      expect(await deleteExpiredSignatures(repo, 1_500, 100)).toBe(100);
      expect((await unexpiredSignatures(repo, 0, 2_000)).map((r) => Number(r.expires_ms)).at(-1)).toBe(1_100);
      expect(await deleteExpiredSignatures(repo, 1_500, 10_000)).toBe(401);
      expect(await deleteExpiredSignatures(repo, 1_500, 10_000)).toBe(0);
      expect((await unexpiredSignatures(repo, 0, 2_000)).length).toBe(499);
    } finally {
      await repo.destroy();
    }
  });

  it('refuses a mutation and a read again after a restart, and again after their keys left a full memory', async () => {
    const file = join(dir, 'store.db');
    db = await openStore(file);
    const until = Date.now() + 60_000;
    let guard = await ReplayGuard.open({ db, logger: silent });
    expect(await guard.admit(sig(1), until, true)).toBe(true);
    expect(guard.admit(sig(1), until, true)).toBe(false); // memory answers at once
    expect(guard.admit(sig(2), until, false)).toBe(true);
    await guard.close(); // writes the read's signature
    await db.destroy();

    db = await openStore(file);
    guard = await ReplayGuard.open({ db, logger: silent });
    expect(guard.admit(sig(1), until, true)).toBe(false);
    expect(guard.admit(sig(2), until, false)).toBe(false);
    await guard.close();

    // A memory of one key: sig(1) is not loaded back, so only the store can refuse the mutation.
    guard = await ReplayGuard.open({ db, logger: silent, memory: new SignatureMemory(1) });
    expect(await guard.admit(sig(3), until, true)).toBe(true);
    expect(await guard.admit(sig(1), until, true)).toBe(false);
    await guard.close();
  });

  it('forgets expired signatures: accepted again (the clock check refuses such requests first) and pruned from the store', async () => {
    let now = Date.now();
    const guard = await ReplayGuard.open({ db, logger: silent, now: () => now });
    expect(await guard.admit(sig(10), now + 1_000, true)).toBe(true);
    now += 2_000;
    await (guard as unknown as { prune(): Promise<void> }).prune();
    const left = await db.selectFrom('used_signatures').select('signature').where('signature', '=', sig(10).slice(0, 32)).execute();
    expect(left).toEqual([]);
    expect(await guard.admit(sig(10), now + 1_000, true)).toBe(true);
    await guard.close();
  });

  it('refuses a mutation with UNAVAILABLE when the store cannot record it, and forgets it', async () => {
    const file = join(dir, 'broken.db');
    const broken = await openStore(file);
    const guard = await ReplayGuard.open({ db: broken, logger: silent });
    await broken.destroy();
    const err = await (guard.admit(sig(20), Date.now() + 60_000, true) as Promise<boolean>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe('UNAVAILABLE');
    // Not remembered: the same request can be sent again once the store works.
    expect(guard.admit(sig(20), Date.now() + 60_000, false)).toBe(true);
  });
});

describe('attack: replaying signed requests against the real service', () => {
  let svc: TestService;
  const clients: Redis[] = [];
  beforeAll(async () => {
    svc = await startTestService({ instancePorts: '23000-23099' });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await svc?.destroy();
  });

  it('(a) a Python-SDK-style request (nonce not signed) replayed with a fresh nonce is refused, read and mutation alike', async () => {
    const read = pythonStyle(svc.url, 'GET', '/v1/regions/cn-north-1/quota');
    expect((await send(svc.url, read)).status).toBe(200);
    const replayedRead = await send(svc.url, read, { 'x-jdcloud-nonce': 'a-fresh-nonce-1' });
    expect(replayedRead.status).toBe(401);
    expect(replayedRead.json.error).toMatchObject({ status: 'ACCESS_ERROR', message: expect.stringMatching(/replay/) });

    const mutation = pythonStyle(svc.url, 'PATCH', '/v1/regions/cn-north-1/cacheInstance/redis-doesnotexist', { cacheInstanceName: 'renamed' });
    expect((await send(svc.url, mutation)).status).toBe(404); // authenticated, then not found
    const replayedMutation = await send(svc.url, mutation, { 'x-jdcloud-nonce': 'a-fresh-nonce-2' });
    expect(replayedMutation.status).toBe(401);
    expect(replayedMutation.json.error?.message).toMatch(/replay/);
  });

  it('(b) a captured resetCacheInstancePassword replayed after a restart is refused and the rotated password stays', async () => {
    const sdk = svc.sdk();
    const id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Passw0rd1' }) })).result.cacheInstanceId as string;
    await waitForStatus(sdk, id, ['running'], 30_000);
    const port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;

    // The victim rotates to Passw0rd2; the attacker captures that request on the wire.
    const captured = pythonStyle(svc.url, 'POST', `/v1/regions/cn-north-1/cacheInstance/${id}:resetCacheInstancePassword`, { password: 'Passw0rd2' });
    expect((await send(svc.url, captured)).status).toBe(200);
    await waitForStatus(sdk, id, ['running'], 30_000);
    // Then rotates again, away from the captured password.
    await sdk.resetCacheInstancePassword({ cacheInstanceId: id, password: 'N3wPassw0rd' });
    await waitForStatus(sdk, id, ['running'], 30_000);

    // The service restarts on the same data directory: the signature memory must come back from the store.
    const dataDir = svc.dataDir;
    const port0 = Number(new URL(svc.url).port);
    await svc.close();
    svc = await startTestService({ instancePorts: '23000-23099', dataDir, port: port0 });
    await waitForStatus(svc.sdk(), id, ['running'], 30_000);

    const replayed = await send(svc.url, captured, { 'x-jdcloud-nonce': 'fresh-after-restart' });
    expect(replayed.status).toBe(401);
    expect(replayed.json.error).toMatchObject({ status: 'ACCESS_ERROR', message: expect.stringMatching(/replay/) });
    expect((await svc.sdk().describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.cacheInstanceStatus).toBe('running');

    const auth = async (password: string): Promise<string> => {
      const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      clients.push(c);
      await c.connect();
      try {
        return await c.auth(password);
      } catch (err) {
        return (err as Error).message;
      } finally {
        c.disconnect();
      }
    };
    expect(await auth('N3wPassw0rd')).toBe('OK');
    expect(await auth('Passw0rd2')).toMatch(/WRONGPASS/);
  }, 120_000);
});
