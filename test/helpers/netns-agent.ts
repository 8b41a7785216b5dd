// Runs inside a client network namespace (test/helpers/netns.ts starts it with `ip netns exec`).
// Reads one JSON request per line on stdin, answers one JSON line each on stdout:
//   {kind:'sdk', url, accessKey, secretKey, op, params}   → the SDK's parsed body, or {error} body
//   {kind:'connect', host, port, timeoutMs}               → 'connected' | 'refused' | 'timeout' | 'error:<code>'
//   {kind:'ping', host, port, password, timeoutMs}        → 'PONG' or the error text
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { sdkClient, type SdkBody } from './sdk-client.ts';

interface Request {
  id: number;
  kind: string;
  [key: string]: unknown;
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (what: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done('connected'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED' ? 'refused' : `error:${err.code ?? err.message}`));
  });
}

async function ping(host: string, port: number, password: string | undefined, timeoutMs: number): Promise<string> {
  const client = new Redis({ host, port, password, lazyConnect: true, connectTimeout: timeoutMs, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.ping();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ECONNREFUSED' ? 'refused' : `error:${e.code ?? e.message}`;
  } finally {
    client.disconnect();
  }
}

async function handle(req: Request): Promise<unknown> {
  switch (req.kind) {
    case 'sdk': {
      const sdk = sdkClient(String(req.url), String(req.accessKey), String(req.secretKey)) as unknown as Record<string, (p: unknown) => Promise<SdkBody>>;
      const method = sdk[String(req.op)];
      if (typeof method !== 'function') throw new Error(`no SDK operation ${String(req.op)}`);
      try {
        return await method.call(sdk, req.params);
      } catch (err) {
        const body = err as SdkBody;
        if (body && typeof body === 'object' && 'error' in body) return body;
        throw err;
      }
    }
    case 'connect':
      return tcpConnect(String(req.host), Number(req.port), Number(req.timeoutMs ?? 2000));
    case 'ping':
      return ping(String(req.host), Number(req.port), req.password as string | undefined, Number(req.timeoutMs ?? 2000));
    default:
      throw new Error(`unknown request kind ${req.kind}`);
  }
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const req = JSON.parse(line) as Request;
  handle(req).then(
    (result) => process.stdout.write(`${JSON.stringify({ id: req.id, result })}\n`),
    (err: unknown) => process.stdout.write(`${JSON.stringify({ id: req.id, error: err instanceof Error ? err.message : String(err) })}\n`),
  );
});
lines.on('close', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
