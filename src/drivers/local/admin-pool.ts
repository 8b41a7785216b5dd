import { Redis } from 'ioredis';
import { ADMIN_USER } from './acl-rules.ts';
import type { DriverLogger } from '../driver-logger.ts';
import { nodePaths } from './instance-paths.ts';
import type { InstanceCredentials } from './internal-secrets.ts';

/** Connect timeout: a local node answers in well under a millisecond, so 500 ms means "down or hung". */
const CONNECT_TIMEOUT_MS = 500;
/** Per-command timeout, so a stopped (SIGSTOP) node cannot hang a reconcile step. */
const COMMAND_TIMEOUT_MS = 3_000;

interface Entry {
  password: string;
  socket: string;
  instanceId: string;
  client: Promise<Redis>;
  /** Set when the pool itself closes the connection: that close is not news. */
  dropped: boolean;
}

/**
 * Admin connections to local nodes, one per node (named by its client port), reused across calls. They go
 * through the node's unix socket, in the node's 0700 directory: only a redis-server we started there can
 * answer, so the admin secret never reaches a TCP port whose owner is unverified, and a tenant's
 * connection flood or CLIENT commands on the TCP port do not stand between the control plane and its node.
 * No endless retry: a connection that drops ends, and the next `get` makes a new one, so a down node is
 * reported at once instead of queueing commands behind a reconnect loop.
 */
export class AdminPool {
  private readonly entries = new Map<number, Entry>();
  private readonly lost = new Set<(instanceId: string) => void>();

  constructor(
    private readonly dataDir: string,
    private readonly logger: DriverLogger,
  ) {}

  /**
   * Calls `listener` with the instance id when an open admin connection closes without the pool closing
   * it: its node most likely died (the kernel closes the socket of a killed process at once), so the
   * engine looks at that instance now instead of at its next periodic check.
   */
  onNodeLost(listener: (instanceId: string) => void): () => void {
    this.lost.add(listener);
    return () => this.lost.delete(listener);
  }

  /** A ready admin connection to the node on `port` of `creds`'s instance, or a rejection saying why. */
  async get(port: number, creds: Pick<InstanceCredentials, 'instanceId' | 'adminPassword'>): Promise<Redis> {
    const password = creds.adminPassword;
    const socket = nodePaths(this.dataDir, creds.instanceId, port).socket;
    for (;;) {
      const existing = this.entries.get(port);
      if (existing && existing.password === password && existing.socket === socket) {
        const client = await existing.client.catch(() => null);
        if (client && client.status === 'ready') return client;
        // Another caller may have replaced the dead entry while we waited: share theirs, do not race it.
        if (this.entries.get(port) !== existing) continue;
      }
      if (existing) this.forget(port, existing);
      // Set before any await, so concurrent callers for this port share one connection attempt.
      const entry: Entry = { password, socket, instanceId: creds.instanceId, dropped: false, client: Promise.resolve(null as unknown as Redis) };
      entry.client = this.connect(port, socket, password, entry);
      this.entries.set(port, entry);
      try {
        return await entry.client;
      } catch (err) {
        this.forget(port, entry);
        throw err;
      }
    }
  }

  /** Closes the connection to `port`, if any. */
  drop(port: number): void {
    const entry = this.entries.get(port);
    if (entry) this.forget(port, entry);
  }

  /** Closes every connection. */
  closeAll(): void {
    for (const [port, entry] of [...this.entries]) this.forget(port, entry);
  }

  private forget(port: number, entry: Entry): void {
    if (this.entries.get(port) === entry) this.entries.delete(port);
    entry.dropped = true;
    entry.client.then((c) => c.disconnect(), () => undefined).catch(() => undefined);
  }

  private async connect(port: number, socket: string, password: string, entry: Entry): Promise<Redis> {
    let lastError: Error | null = null;
    const client = new Redis({
      path: socket,
      username: ADMIN_USER,
      password,
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      commandTimeout: COMMAND_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      // ioredis's ready check sleeps a whole second when it sees `loading:1`; callers that need a loaded
      // dataset poll for it in milliseconds instead (waitUntilLoaded in redis-node.ts).
      enableReadyCheck: false,
      connectionName: 'jcs-control-plane',
    });
    client.on('error', (err: Error) => {
      lastError = err;
      this.logger.debug({ port, err: err.message }, 'admin connection error');
    });
    try {
      await client.connect();
      // Without the ready check, connect() resolves before AUTH is answered; a command queued behind
      // AUTH fails when the password is refused or the listener is not Redis. ACL WHOAMI (unlike PING)
      // also answers while loading or while a replica refuses stale reads.
      const whoami = await client.call('ACL', 'WHOAMI');
      if (whoami !== ADMIN_USER) throw new Error(`logged in as ${String(whoami)}, not ${ADMIN_USER}`);
      client.once('close', () => {
        if (entry.dropped) return;
        for (const listener of this.lost) listener(entry.instanceId);
      });
      return client;
    } catch (err) {
      client.disconnect();
      // ioredis reports an AUTH failure as "Connection is closed"; the 'error' event has the real cause.
      // Only its message is kept: ioredis errors carry the command's arguments, and AUTH's is a secret.
      const cause = (lastError as Error | null) ?? (err as Error);
      throw new Error(`cannot reach node on port ${port} as ${ADMIN_USER}: ${cause.message}`);
    }
  }
}
