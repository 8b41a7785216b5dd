import { ApiError } from './api-error.ts';
import type { CacheInstance } from './api-types.ts';
import type { RedisApiClient } from './redis-api-client.ts';

/** The instance went to `error`, or did not settle before the deadline. */
export class WaitFailedError extends Error {
  override readonly name = 'WaitFailedError';
  constructor(
    message: string,
    /** Last status seen; undefined when the instance was never seen. */
    readonly lastStatus: string | undefined,
  ) {
    super(message);
  }
}

export interface WaitOptions {
  /** `running` (create, resize, password reset) or `gone` (delete: describe answers NOT_FOUND). */
  until: 'running' | 'gone';
  /** Give up after this long. Default 10 minutes. */
  timeoutMs?: number;
  /** Pause between polls. Default 1 s. */
  intervalMs?: number;
  /** Called after every poll with the status seen (`gone` once deleted) and the time waited. */
  onPoll?: (status: string, elapsedMs: number) => void;
  /** Injected for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls describeCacheInstance until the instance is `running` (returned) or gone (returns undefined).
 * Every mutating call is asynchronous on the service (the instance shows creating/changing/deleting
 * first), so this is how a caller learns the operation finished. `error` ends the wait at once.
 */
export async function waitForInstance(
  client: RedisApiClient,
  cacheInstanceId: string,
  opts: WaitOptions,
): Promise<CacheInstance | undefined> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const started = now();
  let lastStatus: string | undefined;
  for (;;) {
    let instance: CacheInstance | undefined;
    try {
      instance = (await client.describeCacheInstance(cacheInstanceId)).cacheInstance;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 'NOT_FOUND')) throw err;
      if (opts.until === 'gone') {
        opts.onPoll?.('gone', now() - started);
        return undefined;
      }
      throw err;
    }
    lastStatus = instance.cacheInstanceStatus;
    const elapsed = now() - started;
    opts.onPoll?.(lastStatus, elapsed);
    if (opts.until === 'running' && lastStatus === 'running') return instance;
    if (lastStatus === 'error') {
      throw new WaitFailedError(`instance ${cacheInstanceId} went to status "error"`, lastStatus);
    }
    if (elapsed >= timeoutMs) {
      const goal = opts.until === 'running' ? 'become running' : 'be deleted';
      throw new WaitFailedError(
        `gave up after ${Math.round(elapsed / 1000)}s waiting for ${cacheInstanceId} to ${goal} (status "${lastStatus}")`,
        lastStatus,
      );
    }
    await sleep(Math.min(opts.intervalMs ?? 1000, Math.max(0, timeoutMs - elapsed)));
  }
}
