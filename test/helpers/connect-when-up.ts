/**
 * A client of a redis-server a test just spawned, once the server takes connections: tries every 20 ms
 * until `timeoutMs`, or until the server's process has exited (its start failed: no point in waiting).
 */
import type { ChildProcess } from 'node:child_process';
import { Redis, type RedisOptions } from 'ioredis';

export async function connectWhenUp(options: RedisOptions, server: ChildProcess, what: string, timeoutMs: number): Promise<Redis> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return c;
    } catch {
      c.disconnect();
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`${what} did not start`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
