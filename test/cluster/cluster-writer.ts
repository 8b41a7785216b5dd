/** Test and bench helpers: a cluster-aware client and a writer that records every acknowledged write. */
import { Cluster } from 'ioredis';

export function clusterClient(host: string, port: number, password: string | null): Cluster {
  return new Cluster([{ host, port }], {
    redisOptions: password === null ? {} : { password },
    // Slots move during a reshard: follow MOVED/ASK, retry TRYAGAIN and CLUSTERDOWN as any client does.
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 20,
    retryDelayOnMoved: 0,
    maxRedirections: 32,
  });
}

/** Writes `key:<n>` = `<n>` + padding in a loop, `concurrency` at a time, until stopped. */
export class Writer {
  readonly acked = new Map<string, string>();
  readonly errors: string[] = [];
  readonly latenciesMs: number[] = [];
  private stopped = false;
  private loops: Array<Promise<void>> = [];
  private next = 0;

  constructor(
    private readonly client: Cluster,
    private readonly prefix: string,
    private readonly valueBytes = 16,
  ) {}

  start(concurrency = 8): void {
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop());
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const n = this.next++;
      const key = `${this.prefix}:${n}`;
      const value = String(n).padEnd(this.valueBytes, '.');
      const started = performance.now();
      try {
        await this.client.set(key, value);
        this.latenciesMs.push(performance.now() - started);
        this.acked.set(key, value);
      } catch (err) {
        this.errors.push(`${key}: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** Keys whose acknowledged value is not what the cluster returns now. */
  async lost(): Promise<string[]> {
    const missing: string[] = [];
    const keys = [...this.acked.keys()];
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const values = await Promise.all(chunk.map((k) => this.client.get(k)));
      chunk.forEach((k, j) => {
        if (values[j] !== this.acked.get(k)) missing.push(k);
      });
    }
    return missing;
  }

  p99(): number {
    const sorted = [...this.latenciesMs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0;
  }
}
