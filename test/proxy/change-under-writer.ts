/**
 * A type change (or change of shard count) asked for while a ProxyWriter writes through the published
 * endpoint, following it as it moves (the endpoint is re-read every 50 ms); the writer goes on for 20
 * more writes on the new endpoint, then its acknowledged keys join `acked`.
 */
import { expect } from 'vitest';
import type { SdkRedis } from '../helpers/sdk-client.ts';
import { waitForStatus } from '../helpers/test-service.ts';
import { ProxyWriter } from './proxy-writer.ts';

export type View = { port: number; cacheInstanceType: string; shardNumber: number };

export interface WriterChange {
  sdk: SdkRedis;
  id: string;
  view: () => Promise<View>;
  before: View;
  cacheInstanceClass: string;
  shardNumber: number | undefined;
  /** The writer's keys: `<prefix><n>`. */
  prefix: string;
  /** The writer waits this long after each acknowledged write (0: as fast as answers come). */
  intervalMs: number;
  /** How long the instance may take to be `running` again. */
  timeoutMs: number;
  /** Runs just before the change is asked for. */
  first?: () => void;
  /** Runs right after the change is asked for. */
  during?: () => Promise<void>;
}

/** Returns the view once the instance is `running` again; the writer's acknowledged keys are added to `acked`. */
export async function changeUnderWriter(o: WriterChange, acked: string[]): Promise<View> {
  let port = o.before.port;
  const writer = new ProxyWriter(() => port, () => '', o.prefix, o.intervalMs);
  let polling = true;
  const poll = (async () => {
    while (polling) {
      port = (await o.view().catch(() => o.before)).port;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  writer.start();
  await new Promise((r) => setTimeout(r, 100));
  o.first?.();
  await o.sdk.modifyCacheInstanceClass({ cacheInstanceId: o.id, cacheInstanceClass: o.cacheInstanceClass, ...(o.shardNumber ? { shardNumber: o.shardNumber } : {}) });
  await o.during?.();
  expect(await waitForStatus(o.sdk, o.id, ['running', 'error'], o.timeoutMs)).toBe('running');
  const after = await o.view();
  port = after.port;
  // Writes on the new endpoint too, before the writer stops.
  const until = writer.acked.length + 20;
  for (let i = 0; writer.acked.length < until && i < 500; i++) await new Promise((r) => setTimeout(r, 10));
  await writer.stop();
  polling = false;
  await poll;
  // Not push(...): an unthrottled writer acknowledges 100k+ keys in a slow change, past the call-stack limit.
  for (const k of writer.acked) acked.push(k);
  console.log(`${o.before.cacheInstanceType} → ${after.cacheInstanceType}: ${writer.acked.length} acknowledged writes, longest gap ${writer.longestGapMs} ms`);
  return after;
}
