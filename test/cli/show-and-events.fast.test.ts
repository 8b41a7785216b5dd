/**
 * First-ten-minutes traps of the CLI, in-process against the stub API: `show` says why an instance is in
 * error and which Redis runs it (the API's version and the engine's), `events` lists the history, and
 * `classes` asks for the same Redis version `create` defaults to.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instanceBody, runCliAgainstStub, startStubServer, type StubServer } from './stub-api-server.ts';

let stub: StubServer;
beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(() => stub.close());
beforeEach(() => {
  stub.requests = [];
});

const run = (args: string[]) => runCliAgainstStub(stub, args);

const line = (text: string, label: string): string | undefined => text.split('\n').find((l) => l.startsWith(`${label} `))?.slice(label.length).trim();

describe('show', () => {
  it('prints the reason of an instance in error, and both the API and the engine version', async () => {
    const reason = 'create failed: redis-server exited: bind: Address already in use';
    stub.handler = () => ({ body: { requestId: 'r', result: { cacheInstance: instanceBody('redis-err', 'error', { instanceVersion: '4.0-7.0', extension: { statusReason: reason } }) } } });
    const out = await run(['show', 'redis-err']);
    expect(out.code).toBe(0);
    expect(line(out.stdout, 'Status')).toBe('error');
    expect(line(out.stdout, 'Reason')).toBe(reason);
    expect(line(out.stdout, 'Redis version')).toBe('4.0 (API version; the engine is Redis 7.0)');
  });

  it('leaves the reason out for a running instance (it would be the last transition, not a problem)', async () => {
    stub.handler = () => ({ body: { requestId: 'r', result: { cacheInstance: instanceBody('redis-ok', 'running', { instanceVersion: '7.0-7.0', redisVersion: '7.0', extension: { statusReason: 'verified' } }) } } });
    const out = await run(['show', 'redis-ok']);
    expect(line(out.stdout, 'Reason')).toBeUndefined();
    expect(line(out.stdout, 'Redis version')).toBe('7.0');
  });
});

describe('events', () => {
  it('lists the events oldest first with a readable detail, and asks for --limit', async () => {
    stub.handler = () => ({
      body: {
        requestId: 'r',
        result: {
          events: [
            { time: '2026-01-02T03:04:05.000Z', type: 'status', data: { from: 'creating', to: 'running', reason: 'verified' } },
            { time: '2026-01-02T03:05:00.000Z', type: 'task-failed', data: { kind: 'resize', attempts: 12, error: 'no memory', final: true } },
            { time: '2026-01-02T03:06:00.000Z', type: 'unhealthy', data: { problems: ['master down', 'link down'] } },
          ],
        },
      },
    });
    const out = await run(['events', 'redis-abc', '--limit', '3']);
    expect(out.code).toBe(0);
    expect(stub.requests[0]?.url).toBe('/v1/regions/cn-north-1/cacheInstance/redis-abc/events?limit=3');
    const rows = out.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^TIME\s+EVENT\s+DETAIL$/);
    expect(rows[1]).toMatch(/^2026-01-02T03:04:05.000Z\s+status\s+creating → running: verified$/);
    expect(rows[2]).toMatch(/task-failed\s+resize attempt 12, gave up: no memory$/);
    expect(rows[3]).toMatch(/unhealthy\s+master down; link down$/);
  });

  it('an API error is reported with its status and exit code 3', async () => {
    stub.handler = () => ({ status: 404, body: { requestId: 'r404', error: { code: 404, status: 'NOT_FOUND', message: 'cacheInstance redis-x not found' } } });
    const out = await run(['events', 'redis-x']);
    expect(out.code).toBe(3);
    expect(out.stderr).toContain('NOT_FOUND');
  });
});

describe('classes', () => {
  it('asks for Redis 4.0 by default, the version create defaults to', async () => {
    stub.handler = () => ({ body: { requestId: 'r', result: { instanceClasses: [], totalCount: 0 } } });
    await run(['classes']);
    expect(stub.requests[0]?.url).toBe('/v1/regions/cn-north-1/instanceClass?redisVersion=4.0');
  });
});
