/** Tools an attacker with no credentials uses in the attack suite: listeners, hand-started redis-servers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** A TCP listener that records every connection and every byte it receives, and answers nothing. */
export interface Trap {
  port: number;
  connections: number;
  received: Buffer[];
  close(): Promise<void>;
}

export async function listenTrap(port: number, host = '127.0.0.1'): Promise<Trap> {
  const sockets = new Set<Socket>();
  const trap: Trap = { port, connections: 0, received: [], close: () => Promise.resolve() };
  const server: Server = createServer((socket) => {
    trap.connections++;
    sockets.add(socket);
    socket.on('data', (d: Buffer) => trap.received.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  trap.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return trap;
}

/** Takes `port` the moment it is free (polls every ms), as a squatter would. */
export async function squat(port: number, timeoutMs = 5_000): Promise<Trap> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await listenTrap(port);
    } catch {
      if (Date.now() > deadline) throw new Error(`port ${port} never became free`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** A redis-server the attacker starts by hand (its own dir, its own settings), on `port`. */
export interface RogueServer {
  port: number;
  client: Redis;
  stop(): Promise<void>;
}

export async function startRogueRedis(port: number, args: string[] = []): Promise<RogueServer> {
  const dir = mkdtempSync(join(tmpdir(), 'jcs-rogue-'));
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...args], {
    stdio: 'ignore',
  });
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  const stop = async (): Promise<void> => {
    client.disconnect();
    child.kill('SIGKILL');
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      await client.connect();
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        const how = child.exitCode !== null ? `exited with code ${child.exitCode} (a port of ${port}, its TLS or bus port, taken?)` : 'no answer within 5 s';
        await stop(); // neither the process nor its directory may outlive the failed start
        throw new Error(`rogue redis-server on ${port} did not start: ${how}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return { port, client, stop };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
