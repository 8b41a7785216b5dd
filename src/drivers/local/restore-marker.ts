/**
 * The restore marker: while a restore replaces an instance's data, its nodes do not listen on their client
 * ports (stopped, or `port 0`), and a small listener in the service holds each of those ports instead. It
 * answers every command of every client with one error reply that says what is going on:
 *
 *   -LOADING instance redis-… is being restored from a backup; commands are refused until it is running again
 *
 * `LOADING` is the error class clients already know as "try again shortly" (ioredis, redis-py and Jedis
 * retry or surface it as such); the text says why. Nothing is ever acknowledged, so no write can be lost
 * after an acknowledgement. The marker lives in the service process: while the service itself is down, the
 * ports refuse connections instead (the nodes still do not listen), which is safe too.
 *
 * AUTH is answered `+OK` whatever the password: the marker holds no data and a real login would be checked
 * by the node once it is back; a failed AUTH would make clients drop the connection before they ever saw
 * the explanation. A hostile client cannot make it hold memory: it never keeps a command's arguments, only where one
 * command ends (RESP arrays of bulk strings, or inline lines of at most 64 KB), and closes a connection
 * that sends anything else. At most MAX_CLIENTS connections per port at once.
 */
import { createServer, type Server, type Socket } from 'node:net';

const MAX_LINE = 64 * 1024;
const MAX_CLIENTS = 1_000;
/** Bytes of a command's name kept (enough for every Redis command name). */
const NAME_MAX = 32;

/** Names of the commands a client sent, found in a byte stream without keeping their arguments. */
export class CommandCounter {
  private line = '';
  /** Bulk strings still to come in the current array (0: at a command's start). */
  private bulks = 0;
  /** Bytes of the current bulk string (its CRLF included) still to skip; -1: its `$len` header comes next. */
  private skip = -1;
  /** The first bulk of the current command (its name), up to NAME_MAX bytes. */
  private name = '';
  private first = false;
  failed = false;

  /** Feeds bytes; returns the (lower-case) names of the commands that ended in them, or null once the stream is not RESP. */
  feed(chunk: Buffer): string[] | null {
    const done: string[] = [];
    let i = 0;
    while (i < chunk.length && !this.failed) {
      if (this.bulks > 0 && this.skip >= 0) {
        const take = Math.min(this.skip, chunk.length - i);
        if (this.first && this.name.length < NAME_MAX) this.name += chunk.subarray(i, i + Math.min(take, NAME_MAX - this.name.length)).toString('latin1');
        this.skip -= take;
        i += take;
        if (this.skip === 0) {
          this.skip = -1;
          this.first = false;
          this.bulks--;
          if (this.bulks === 0) done.push(this.name.replace(/\r?\n?$/, '').toLowerCase());
        }
        continue;
      }
      const nl = chunk.indexOf(10, i);
      const end = nl === -1 ? chunk.length : nl;
      this.line += chunk.subarray(i, end).toString('latin1');
      i = nl === -1 ? chunk.length : nl + 1;
      if (this.line.length > MAX_LINE) this.failed = true;
      if (nl === -1) break;
      const line = this.line.replace(/\r$/, '');
      this.line = '';
      if (this.bulks > 0) {
        const len = /^\$(\d{1,10})$/.exec(line);
        if (!len) this.failed = true;
        else this.skip = Number(len[1]) + 2;
        continue;
      }
      if (line.startsWith('*')) {
        const n = /^\*(-?\d{1,7})$/.exec(line);
        if (!n) this.failed = true;
        else if (Number(n[1]) <= 0) done.push('');
        else {
          this.bulks = Number(n[1]);
          this.name = '';
          this.first = true;
        }
      } else if (line.trim() !== '') done.push(line.trim().split(/\s+/)[0]!.toLowerCase()); // inline (telnet)
    }
    return this.failed ? null : done;
  }
}

export interface RestoreMarker {
  /** Ports it holds now. */
  readonly ports: readonly number[];
  /** Stops listening on `port` and drops its clients (before the node takes the port back). */
  release(port: number): Promise<void>;
  /** Releases every port. */
  close(): Promise<void>;
}

/** The error reply every command gets. */
export function restoreReply(instanceId: string): string {
  return `-LOADING instance ${instanceId} is being restored from a backup; commands are refused until it is running again\r\n`;
}

const OK = Buffer.from('+OK\r\n');

function listen(host: string, port: number, reply: Buffer): Promise<{ server: Server; sockets: Set<Socket> } | null> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    if (sockets.size >= MAX_CLIENTS) return socket.destroy();
    sockets.add(socket);
    const counter = new CommandCounter();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      const names = counter.feed(chunk);
      if (names === null) return socket.destroy();
      // AUTH is answered OK whatever the password (the marker holds no data and checks nothing), so the
      // client's next command gets the reply that explains, not a connection closed over a failed login.
      for (const name of names) socket.write(name === 'auth' ? OK : reply);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen({ host, port, exclusive: true }, () => resolve({ server, sockets }));
  });
}

/**
 * Holds `ports` on `host` for instance `instanceId`. A port it cannot bind (someone else holds it, or a
 * node still listens) is skipped and reported in the returned marker's `ports` by its absence.
 */
export async function holdRestoreMarker(host: string, ports: readonly number[], instanceId: string): Promise<RestoreMarker> {
  const reply = Buffer.from(restoreReply(instanceId), 'latin1');
  const held = new Map<number, { server: Server; sockets: Set<Socket> }>();
  for (const port of ports) {
    const s = await listen(host, port, reply);
    if (s) held.set(port, s);
  }
  const release = async (port: number): Promise<void> => {
    const s = held.get(port);
    if (!s) return;
    held.delete(port);
    const closed = new Promise((r) => s.server.close(r));
    for (const socket of s.sockets) socket.destroy();
    await closed;
  };
  return {
    get ports() {
      return [...held.keys()];
    },
    release,
    async close() {
      await Promise.all([...held.keys()].map(release));
    },
  };
}
