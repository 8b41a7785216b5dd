/** Small pieces the instance benchmarks share: medians, sleeps, waiting for a status through the SDK. */
import { loadavg } from 'node:os';
import type { SdkRedis } from '../test/helpers/sdk-client.ts';

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls describeCacheInstance every 5 ms until the instance is `want`; an `error` status or the timeout fails. */
export async function waitStatus(sdk: SdkRedis, id: string, want: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await onceMoreOnReset(() => sdk.describeCacheInstance({ cacheInstanceId: id }))).result.cacheInstance.cacheInstanceStatus as string;
    if (status === want) return;
    if (status === 'error' || Date.now() > deadline) throw new Error(`instance ${id} is ${status}, wanted ${want}`);
    await sleep(5);
  }
}

/** Polls describeCacheInstance every 10 ms until the instance is gone. */
export async function waitGone(sdk: SdkRedis, id: string): Promise<void> {
  for (;;) {
    try {
      await sdk.describeCacheInstance({ cacheInstanceId: id });
    } catch {
      return;
    }
    await sleep(10);
  }
}

/**
 * Runs an SDK call again once when the API closed an idle keep-alive connection just as the call reused it
 * (ECONNRESET after a long quiet phase of a benchmark): the request never reached a handler.
 */
export async function onceMoreOnReset<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if ((err as { code?: string }).code !== 'ECONNRESET') throw err;
    return call();
  }
}

/** The 1, 5 and 15 minute load averages, for printing next to figures (the machine is shared). */
export const loadAverage = (): string => `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
