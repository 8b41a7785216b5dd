import { describe, expect, it } from 'vitest';
import { formatElapsed, Spinner } from '../../src/cli/spinner.ts';
import { ApiError } from '../../src/client/api-error.ts';
import type { CacheInstance } from '../../src/client/api-types.ts';
import type { RedisApiClient } from '../../src/client/redis-api-client.ts';
import { waitForInstance, WaitFailedError } from '../../src/client/wait-for-instance.ts';
import { instanceBody } from './stub-api-server.ts';

/** A client whose describeCacheInstance walks through the given statuses ('gone' = NOT_FOUND). */
function scriptedClient(statuses: string[]): { client: RedisApiClient; calls: () => number } {
  let i = 0;
  const client = {
    describeCacheInstance: (id: string) => {
      const status = statuses[Math.min(i++, statuses.length - 1)] as string;
      if (status === 'gone') return Promise.reject(new ApiError(404, 'NOT_FOUND', `${id} not found`, 'r'));
      return Promise.resolve({ cacheInstance: instanceBody(id, status) as unknown as CacheInstance });
    },
  };
  return { client: client as unknown as RedisApiClient, calls: () => i };
}

/** Virtual clock: sleep advances time instead of waiting. */
function clock() {
  let t = 0;
  return { now: () => t, sleep: (ms: number) => ((t += ms), Promise.resolve()) };
}

describe('waitForInstance', () => {
  it('polls until running and reports every status seen', async () => {
    const { client, calls } = scriptedClient(['creating', 'creating', 'running']);
    const seen: string[] = [];
    const instance = await waitForInstance(client, 'redis-a', { until: 'running', ...clock(), onPoll: (s) => seen.push(s) });
    expect(instance?.cacheInstanceStatus).toBe('running');
    expect(seen).toEqual(['creating', 'creating', 'running']);
    expect(calls()).toBe(3);
  });

  it('for delete, waits until the instance is gone', async () => {
    const { client } = scriptedClient(['deleting', 'running', 'gone']);
    const seen: string[] = [];
    expect(await waitForInstance(client, 'redis-a', { until: 'gone', ...clock(), onPoll: (s) => seen.push(s) })).toBeUndefined();
    expect(seen).toEqual(['deleting', 'running', 'gone']);
  });

  it('stops at once on status error', async () => {
    const { client, calls } = scriptedClient(['changing', 'error', 'running']);
    await expect(waitForInstance(client, 'redis-a', { until: 'running', ...clock() })).rejects.toThrow(WaitFailedError);
    expect(calls()).toBe(2);
  });

  it('gives up after the timeout with the last status', async () => {
    const { client } = scriptedClient(['creating']);
    const err = await waitForInstance(client, 'redis-a', { until: 'running', timeoutMs: 5000, intervalMs: 1000, ...clock() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitFailedError);
    expect(err).toMatchObject({ lastStatus: 'creating', message: expect.stringMatching(/gave up after 5s waiting for redis-a to become running/) });
  });

  it('passes NOT_FOUND through when waiting for running (the instance vanished)', async () => {
    const { client } = scriptedClient(['gone']);
    await expect(waitForInstance(client, 'redis-a', { until: 'running', ...clock() })).rejects.toMatchObject({ status: 'NOT_FOUND' });
  });
});

describe('Spinner', () => {
  it('draws on a terminal and erases its line when stopped', () => {
    const writes: string[] = [];
    const spinner = new Spinner({ isTTY: true, write: (s: string) => writes.push(s) });
    spinner.update('redis-a: creating (3s)');
    spinner.stop();
    expect(writes[0]?.startsWith('\r\u001b[2K')).toBe(true);
    expect(writes[0]?.slice(5)).toMatch(/^. redis-a: creating \(3s\)$/);
    expect(writes.at(-1)).toBe('\r\x1b[2K');
  });

  it('writes nothing when the output is not a terminal', () => {
    const writes: string[] = [];
    const spinner = new Spinner({ write: (s: string) => writes.push(s) });
    spinner.update('x');
    spinner.stop();
    expect(writes).toEqual([]);
  });

  it('formats elapsed time in seconds, then minutes', () => {
    expect(formatElapsed(12_400)).toBe('12s');
    expect(formatElapsed(75_000)).toBe('1m15s');
  });
});
