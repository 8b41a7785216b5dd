/**
 * The API's connection guard on a real HTTP server with real sockets from several loopback
 * addresses: limits per address and in total, the least recently active idle connection goes first,
 * a connection with a request in flight is never closed for a newcomer.
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionGuard } from '../../src/api/connection-guard.ts';
import { apiFdReserve, defaultApiMaxConnections, readOpenFilesLimit } from '../../src/config.ts';

let server: Server | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A server whose /slow answers only when `release` is called. */
async function start(maxConnections: number, maxConnectionsPerIp: number): Promise<{ port: number; guard: ConnectionGuard; release: () => void }> {
  const waiting: (() => void)[] = [];
  server = createServer((req, res) => {
    if (req.url === '/slow') waiting.push(() => res.end('slow'));
    else res.end('ok');
  });
  const guard = new ConnectionGuard(server, { maxConnections, maxConnectionsPerIp });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, guard, release: () => waiting.splice(0).forEach((f) => f()) };
}

interface Client {
  socket: Socket;
  closed: boolean;
}

async function open(port: number, from: string): Promise<Client> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: from });
  sockets.push(socket);
  const client = { socket, closed: false };
  socket.on('close', () => (client.closed = true));
  socket.on('error', () => undefined);
  socket.resume();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  await sleep(20); // the server sees it, and closes an evicted one
  return client;
}

const states = (cs: Client[]): string[] => cs.map((c) => (c.closed ? 'closed' : 'open'));

describe('ConnectionGuard', () => {
  it('per address: a newcomer from a full address takes the place of that address\'s oldest idle connection', async () => {
    const { port, guard } = await start(100, 3);
    const a = [await open(port, '127.0.0.2'), await open(port, '127.0.0.2'), await open(port, '127.0.0.2')];
    const other = await open(port, '127.0.0.3');
    a.push(await open(port, '127.0.0.2'));
    expect(states(a)).toEqual(['closed', 'open', 'open', 'open']);
    expect(other.closed).toBe(false);
    expect(guard.figures).toMatchObject({ open: 4, evicted: 1, refused: 0 });
  });

  it('in total: the least recently active idle connection goes, a recently used one stays', async () => {
    const { port, guard } = await start(3, 100);
    const c = [await open(port, '127.0.0.2'), await open(port, '127.0.0.3'), await open(port, '127.0.0.4')];
    // The oldest connection is used: it becomes the most recently active.
    c[0]!.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(50);
    c.push(await open(port, '127.0.0.5'));
    expect(states(c)).toEqual(['open', 'closed', 'open', 'open']);
    expect(guard.figures).toMatchObject({ open: 3, evicted: 1 });
  });

  it('never closes a connection with a request in flight: when all are busy the newcomer is refused', async () => {
    const { port, guard, release } = await start(2, 100);
    const busy = [await open(port, '127.0.0.2'), await open(port, '127.0.0.3')];
    for (const b of busy) b.socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await sleep(50);
    const late = await open(port, '127.0.0.4');
    expect(states([...busy, late])).toEqual(['open', 'open', 'closed']);
    expect(guard.figures).toMatchObject({ open: 2, refused: 1 });
    // Once answered they are idle again, and a newcomer gets in.
    release();
    await sleep(50);
    const next = await open(port, '127.0.0.4');
    expect(next.closed).toBe(false);
    expect(guard.figures).toMatchObject({ open: 2, evicted: 1 });
  });
});

describe('default limits', () => {
  it('leave a reserve of descriptors for the engine', () => {
    expect(apiFdReserve(20_000)).toBe(4096);
    expect(defaultApiMaxConnections(20_000)).toBe(15_904);
    expect(defaultApiMaxConnections(1024)).toBe(768);
    expect(defaultApiMaxConnections(100)).toBe(64);
    expect(defaultApiMaxConnections(undefined)).toBe(768);
    expect(readOpenFilesLimit()).toBeGreaterThan(0);
    expect(readOpenFilesLimit('/nonexistent')).toBeUndefined();
  });
});
