import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.ts';

export interface ConnectionLimits {
  /** Most connections open at once on the API port (`JCS_API_MAX_CONNECTIONS`). */
  maxConnections: number;
  /** Most connections open at once from one client address (`JCS_API_MAX_CONNECTIONS_PER_IP`). */
  maxConnectionsPerIp: number;
}

/** Everything build-app.ts applies to the API's HTTP server. */
export interface ApiServerLimits extends ConnectionLimits {
  /** Node's headersTimeout: a request's headers must arrive within this time (`JCS_API_HEADERS_TIMEOUT_MS`). */
  headersTimeoutMs: number;
  /** Node's requestTimeout: a whole request must arrive within this time (`JCS_API_REQUEST_TIMEOUT_MS`). */
  requestTimeoutMs: number;
  /** Node's keepAliveTimeout: an idle keep-alive connection is closed after this time (`JCS_API_KEEPALIVE_TIMEOUT_MS`). */
  keepAliveTimeoutMs: number;
}

export interface ConnectionCounts {
  open: number;
  /** Idle connections closed to make room for a newer one, since the start. */
  evicted: number;
  /** New connections closed at once because every connection in their way had a request in flight. */
  refused: number;
}

interface Tracked {
  ip: string;
  /**
   * The answer to the connection's latest request. Answers go out in request order, so while this one
   * has not been handed to the kernel completely, some request on the connection is in flight. Read
   * only when a connection is considered for eviction, so a request costs no listener of its own.
   */
  latest: ServerResponse | undefined;
}

/** At most one warning per this many milliseconds while the limits bite. */
const WARN_EVERY_MS = 10_000;

/**
 * Bounds the API's connections so that a flood of idle sockets can neither exhaust the process's
 * file descriptors (which the engine needs for Redis nodes and child processes) nor lock out
 * legitimate clients.
 *
 * - At most `maxConnections` in total and `maxConnectionsPerIp` per client address.
 * - At a limit, the least recently active IDLE connection (no request in flight; a socket that never
 *   completed a request is idle) is closed to make room for the newcomer, from the same address for
 *   the per-address limit, from anyone for the total. Only when every connection in the way has a
 *   request in flight is the newcomer closed instead. So an attacker holding idle sockets loses them
 *   to the next client, and a client that is using its connection keeps it.
 * - Timeouts (Node's headersTimeout, requestTimeout, keepAliveTimeout, set in build-app.ts) close
 *   silent, slow and idle keep-alive sockets on their own; this guard bounds what is open meanwhile.
 *
 * Bookkeeping is a few Map operations per connection and per request; no listener per request.
 */
export class ConnectionGuard {
  /** Every open connection, least recently active first (a Map iterates in insertion order). */
  private readonly all = new Map<Socket, Tracked>();
  /** The same connections by client address, in the same order. */
  private readonly byIp = new Map<string, Set<Socket>>();
  private readonly counts = { evicted: 0, refused: 0 };
  private warnedAt = -Infinity;
  private sinceWarn = { evicted: 0, refused: 0 };

  constructor(
    server: Server,
    private readonly limits: ConnectionLimits,
    private readonly logger?: Logger,
  ) {
    if (!(limits.maxConnections >= 1 && limits.maxConnectionsPerIp >= 1)) throw new Error('connection limits must be at least 1');
    server.on('connection', (socket: Socket) => this.admit(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.started(req.socket, res));
  }

  /** Current and cumulative figures (for logs and tests). */
  get figures(): ConnectionCounts {
    return { open: this.all.size, ...this.counts };
  }

  private admit(socket: Socket): void {
    const ip = socket.remoteAddress ?? '';
    const mine = this.byIp.get(ip);
    if ((mine && mine.size >= this.limits.maxConnectionsPerIp && !this.evictIdle(mine)) || (this.all.size >= this.limits.maxConnections && !this.evictIdle(this.all.keys()))) {
      this.counts.refused++;
      this.sinceWarn.refused++;
      this.warn();
      socket.destroy();
      return;
    }
    this.all.set(socket, { ip, latest: undefined });
    if (mine) mine.add(socket);
    else this.byIp.set(ip, new Set([socket]));
    socket.once('close', () => this.forget(socket));
  }

  private started(socket: Socket, res: ServerResponse): void {
    const tracked = this.all.get(socket);
    if (!tracked) return;
    tracked.latest = res;
    // Most recently active now: move to the end of both orders.
    this.all.delete(socket);
    this.all.set(socket, tracked);
    const mine = this.byIp.get(tracked.ip);
    mine?.delete(socket);
    mine?.add(socket);
  }

  /** Closes the first idle connection among `candidates` (oldest activity first); false when all are busy. */
  private evictIdle(candidates: Iterable<Socket>): boolean {
    for (const socket of candidates) {
      const latest = this.all.get(socket)?.latest;
      if (latest && !latest.writableFinished) continue;
      this.forget(socket);
      socket.destroy();
      this.counts.evicted++;
      this.sinceWarn.evicted++;
      this.warn();
      return true;
    }
    return false;
  }

  /** Drops a connection from the books (on close, or at once when evicted: 'close' comes a tick later). */
  private forget(socket: Socket): void {
    const tracked = this.all.get(socket);
    if (!tracked) return;
    this.all.delete(socket);
    const mine = this.byIp.get(tracked.ip);
    mine?.delete(socket);
    if (mine?.size === 0) this.byIp.delete(tracked.ip);
  }

  private warn(): void {
    const now = Date.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.warnedAt = now;
    this.logger?.warn(
      { ...this.sinceWarn, open: this.all.size, ...this.limits },
      'API connection limit reached: idle connections are being closed for new ones (a flood, or limits too low for the load)',
    );
    this.sinceWarn = { evicted: 0, refused: 0 };
  }
}
