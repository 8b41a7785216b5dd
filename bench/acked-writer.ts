/**
 * The writer the proxy benchmarks run beside a change: one SET at a time through the instance's endpoint,
 * reconnecting after a failure, recording every acknowledged key, its latency and the longest gap between
 * two acknowledgements (the write pause a tenant sees). The port is asked for on every reconnect, so the
 * writer follows an endpoint that moves (a type change).
 */
import { proxyClient } from '../test/proxy/proxy-writer.ts';
import { sleep } from './bench-kit.ts';

export interface AckedWriter {
  /** Keys whose SET was acknowledged, in order. */
  readonly acked: string[];
  /** Latency of each acknowledged SET, ms. */
  readonly latencies: number[];
  /** Longest time between two acknowledgements, ms. */
  longestGap(): number;
  /** Failed SETs (each followed by a reconnect). */
  errors(): number;
  /** Stops after the SET under way. */
  stop(): Promise<void>;
}

export function startAckedWriter(port: () => number, password: string): AckedWriter {
  const acked: string[] = [];
  const latencies: number[] = [];
  let longestGap = 0;
  let errors = 0;
  let stopped = false;
  const run = (async () => {
    let c = proxyClient(port(), password);
    let last = performance.now();
    for (let i = 0; !stopped; i++) {
      const t = performance.now();
      try {
        if (c.status !== 'ready') await c.connect();
        await c.set(`w:${i}`, String(i));
        const now = performance.now();
        acked.push(`w:${i}`);
        latencies.push(now - t);
        longestGap = Math.max(longestGap, now - last);
        last = now;
      } catch {
        errors++;
        c.disconnect();
        c = proxyClient(port(), password);
        await sleep(1);
      }
    }
    c.disconnect();
  })();
  return {
    acked,
    latencies,
    longestGap: () => longestGap,
    errors: () => errors,
    stop: async () => {
      stopped = true;
      await run;
    },
  };
}

/** Loads `count` keys `key:<n>` = `value` through the endpoint, 100 keys an MSET, 100 MSETs a pipeline. */
export async function loadKeys(port: number, password: string, count: number, value: string): Promise<void> {
  const loader = proxyClient(port, password);
  await loader.connect();
  for (let i = 0; i < count; i += 10_000) {
    const p = loader.pipeline();
    for (let j = i; j < i + 10_000 && j < count; j += 100) p.mset(Object.fromEntries(Array.from({ length: Math.min(100, count - j) }, (_, k) => [`key:${j + k}`, value])));
    await p.exec();
  }
  loader.disconnect();
}
