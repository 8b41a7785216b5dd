import { Redis } from 'ioredis';

/**
 * A client of a proxy cluster's endpoint, as applications should configure ioredis for twemproxy: no ready
 * check (INFO) and no CLIENT SETINFO, which twemproxy does not know and answers by closing the connection.
 */
export function proxyClient(port: number, password: string | undefined): Redis {
  const c = new Redis({ port, host: '127.0.0.1', ...(password ? { password } : {}), enableReadyCheck: false, disableClientInfo: true, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  return c;
}

/**
 * Writes `<prefix><n>` = n, one SET at a time, through the proxy, reconnecting after any failure; records
 * every acknowledged key and the longest time between two acknowledged writes (what a client sees of a
 * pause or a proxy restart).
 */
export class ProxyWriter {
  readonly acked: string[] = [];
  longestGapMs = 0;
  errors = 0;
  private stopped = false;
  private done: Promise<void> | null = null;

  constructor(
    /** The endpoint's port, or where to read it before each (re)connect (it moves with a type change). */
    private readonly port: number | (() => number),
    private readonly password: () => string,
    private readonly prefix: string,
    /** Wait this long after each acknowledged write (0: write as fast as answers come). */
    private readonly intervalMs = 0,
  ) {}

  start(): void {
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private endpoint(): number {
    return typeof this.port === 'number' ? this.port : this.port();
  }

  private async run(): Promise<void> {
    let c = proxyClient(this.endpoint(), this.password());
    let last = Date.now();
    for (let i = 0; !this.stopped; i++) {
      try {
        if (c.status !== 'ready') await c.connect();
        await c.set(`${this.prefix}${i}`, String(i));
        this.acked.push(`${this.prefix}${i}`);
        const now = Date.now();
        this.longestGapMs = Math.max(this.longestGapMs, now - last);
        last = now;
        if (this.intervalMs > 0) await new Promise((r) => setTimeout(r, this.intervalMs));
      } catch {
        this.errors++;
        c.disconnect();
        c = proxyClient(this.endpoint(), this.password());
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    c.disconnect();
  }
}
