import { Cluster, Redis } from 'ioredis';

/** A connection to an instance: a plain client (master-slave) or a cluster-aware one (native-cluster). */
export type ChaosClient = Redis | Cluster;

/** One acknowledged write: key `<prefix><seq>` holds `String(seq)`. */
export interface Ack {
  seq: number;
  /** When the SET was sent and when its OK arrived (ms since the epoch). */
  sentAt: number;
  ackedAt: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Writes numbered keys to an instance's published endpoint, one after the other, and records each
 * acknowledged one, so a check can later prove no acknowledged write was lost. On any error the
 * connection is dropped and a new one is made, trying every password the instance may have (newest
 * first): after a password reset whose outcome is unknown, either may be the live one.
 */
export class ChaosWriter {
  readonly acks: Ack[] = [];
  private seq = 0;
  private client: ChaosClient | null = null;
  private stopped = false;
  private done: Promise<void> | null = null;
  private readonly waiters: { after: number; resolve: (ackedAt: number) => void }[] = [];

  constructor(
    readonly host: string,
    readonly port: number,
    /** Every password the instance may have now, newest first; null means password-free. */
    private readonly passwords: () => (string | null)[],
    readonly keyPrefix = 'chaos:',
    private readonly pauseMs = 5,
    /** A native-cluster instance: write through a cluster-aware client that follows MOVED/ASK. */
    readonly cluster = false,
  ) {}

  /** Starts writing (again, after `stop`: the sequence and the acknowledgements carry on). */
  start(): void {
    this.stopped = false;
    this.done ??= this.loop();
  }

  /** Stops after the write in flight; resolves once the connection is closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.done = null;
    for (const w of this.waiters.splice(0)) w.resolve(NaN);
  }

  /** Resolves with the ack time of the first write sent at or after `t0` (NaN if stopped or timed out first). */
  firstAckAfter(t0: number, timeoutMs: number): Promise<number> {
    const hit = this.acks.find((a) => a.sentAt >= t0);
    if (hit) return Promise.resolve(hit.ackedAt);
    return new Promise((resolve) => {
      const waiter = { after: t0, resolve };
      this.waiters.push(waiter);
      setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(NaN);
      }, timeoutMs).unref();
    });
  }

  key(seq: number): string {
    return `${this.keyPrefix}${seq}`;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      this.client ??= await this.connect();
      if (!this.client) {
        await sleep(20);
        continue;
      }
      const seq = this.seq++;
      const sentAt = Date.now();
      try {
        await withTimeout(this.client.set(this.key(seq), String(seq)), 3_000);
        const ack = { seq, sentAt, ackedAt: Date.now() };
        this.acks.push(ack);
        for (let i = this.waiters.length - 1; i >= 0; i--) {
          const w = this.waiters[i]!;
          if (sentAt >= w.after) {
            this.waiters.splice(i, 1);
            w.resolve(ack.ackedAt);
          }
        }
      } catch {
        this.client.disconnect();
        this.client = null;
      }
      await sleep(this.pauseMs);
    }
    this.client?.disconnect();
    this.client = null;
  }

  private connect(): Promise<ChaosClient | null> {
    return this.cluster ? connectClusterWithAny(this.host, this.port, this.passwords()) : connectWithAny(this.host, this.port, this.passwords());
  }
}

/** `p`, or a rejection after `ms` (a cluster client may retry a command on a dead node for a long time). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A cluster-aware connection started from the instance's published port (shard 0's master), with the
 * first of `passwords` that works, or null when none does. It follows MOVED/ASK; a dead node makes its
 * commands fail, and the writer then drops the client and makes a new one (no hidden reconnect loop).
 */
export async function connectClusterWithAny(host: string, port: number, passwords: readonly (string | null)[]): Promise<Cluster | null> {
  for (const password of passwords) {
    const client = clusterClient(host, port, password);
    try {
      await withTimeout(client.connect(), 3_000);
      // The slot map came from the start node; a PING on a node proves the password (and a password-free
      // candidate wrong when the instance has one).
      await withTimeout(client.ping(), 2_000);
      return client;
    } catch {
      client.disconnect();
    }
  }
  return null;
}

export function clusterClient(host: string, port: number, password: string | null): Cluster {
  const client = new Cluster([{ host, port }], {
    lazyConnect: true,
    enableReadyCheck: true,
    clusterRetryStrategy: () => null,
    retryDelayOnClusterDown: 50,
    retryDelayOnTryAgain: 20,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: 50,
    maxRedirections: 16,
    slotsRefreshTimeout: 1_000,
    redisOptions: {
      ...(password === null ? {} : { password }),
      connectTimeout: 1_000,
      commandTimeout: 2_000,
      maxRetriesPerRequest: 0,
    },
  });
  client.on('error', () => undefined);
  client.on('node error', () => undefined);
  return client;
}

/** A connection authenticated with the first of `passwords` that works (null: none), or null when none does. */
export async function connectWithAny(host: string, port: number, passwords: readonly (string | null)[]): Promise<Redis | null> {
  for (const password of passwords) {
    const client = plainClient(host, port);
    try {
      await client.connect();
      if (password !== null) await client.call('AUTH', password);
      // PING needs authentication too: it tells a password-free candidate from a wrong one.
      await client.ping();
      return client;
    } catch {
      client.disconnect();
    }
  }
  return null;
}

/**
 * An ioredis client that never reconnects or queues by itself: the caller sees every failure at once
 * and decides (the writers and checks measure outages, so hidden retries would blur them).
 */
export function plainClient(host: string, port: number): Redis {
  const client = new Redis({
    host,
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    // twemproxy (a proxy cluster's endpoint) closes the connection on CLIENT SETINFO.
    disableClientInfo: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
    commandTimeout: 2_000,
  });
  client.on('error', () => undefined);
  return client;
}
