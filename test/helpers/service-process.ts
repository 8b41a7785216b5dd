import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { TEST_AK, TEST_HOST_MEMORY, TEST_SK } from './test-service.ts';

const BIN = fileURLToPath(new URL('../../bin/jcs-redis.js', import.meta.url));

/** A free TCP port on loopback (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether a process with this pid is alive (signal 0). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The service as a separate process, so tests can SIGKILL it like an operator's crash would. */
export class ServiceProcess {
  child: ChildProcess | null = null;
  output = '';
  readonly url: string;

  constructor(
    readonly dataDir: string,
    readonly httpPort: number,
    readonly instancePorts: string,
    readonly env: Record<string, string> = {},
  ) {
    this.url = `http://127.0.0.1:${httpPort}`;
  }

  /** Starts `jcs-redis serve` and resolves once /healthz answers. */
  async start(timeoutMs = 20_000): Promise<void> {
    this.child = spawn(process.execPath, [BIN, 'serve'], {
      env: {
        ...process.env,
        JCS_PORT: String(this.httpPort),
        JCS_DATA_DIR: this.dataDir,
        JCS_INSTANCE_PORTS: this.instancePorts,
        JCS_ACCESS_KEY: TEST_AK,
        JCS_SECRET_KEY: TEST_SK,
        JCS_PORT_QUARANTINE_S: '0',
        ...TEST_HOST_MEMORY,
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.output += d.toString()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`service exited with ${this.child.exitCode}:\n${this.output}`);
      try {
        if ((await fetch(`${this.url}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`service did not answer /healthz in time:\n${this.output}`);
  }

  /** Sends `signal` and waits for the process to exit; resolves with its exit code (null when killed). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const code = await exited;
    this.child = null;
    return code;
  }
}
