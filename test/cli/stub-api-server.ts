/**
 * A tiny HTTP server standing in for the API in client and CLI tests that do not need the real
 * service: it verifies every request with our verifyRequest and answers with a scripted handler.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureMemory } from '../../src/signing/signature-memory.ts';
import { verifyRequest } from '../../src/signing/verify-request.ts';

export interface StubRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** Region of the verified credential scope. */
  region: string;
}

export interface StubAnswer {
  status?: number;
  /** Serialized as JSON unless it is a string. */
  body: unknown;
}

export interface StubServer {
  url: string;
  requests: StubRequest[];
  handler: (req: StubRequest) => StubAnswer;
  close(): Promise<void>;
}

export const STUB_AK = 'STUBAK';
export const STUB_SK = 'STUBSK';

export async function startStubServer(): Promise<StubServer> {
  const replays = new SignatureMemory();
  const stub: StubServer = {
    url: '',
    requests: [],
    handler: () => ({ body: { requestId: 'req-stub', result: {} } }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const verdict = verifyRequest(
        { method: req.method ?? '', rawUrl: req.url ?? '', headers: req.headers, body },
        (ak) => (ak === STUB_AK ? STUB_SK : undefined),
        { now: new Date() },
      );
      let answer: StubAnswer;
      const fresh = verdict.ok && replays.checkAndRemember(verdict.signature, Date.now(), verdict.expiresAtMs);
      if (!verdict.ok || !fresh) {
        const message = verdict.ok ? 'replayed request' : verdict.reason;
        answer = { status: 401, body: { requestId: 'req-auth', error: { code: 401, status: 'ACCESS_ERROR', message } } };
      } else {
        const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body.toString('utf8'), region: verdict.region };
        stub.requests.push(request);
        answer = stub.handler(request);
      }
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return stub;
}

/** A port nothing listens on: bind an ephemeral port, then release it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A minimal CacheInstance as the service would describe it. */
export function instanceBody(id: string, status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cacheInstanceId: id,
    cacheInstanceName: 'demo',
    cacheInstanceClass: 'redis.m.micro.basic',
    cacheInstanceMemoryMB: 1024,
    cacheInstanceStatus: status,
    cacheInstanceDescription: '',
    createTime: '2024-01-02T03:04:05Z',
    azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
    connectionDomain: '127.0.0.1',
    port: 6400,
    auth: true,
    redisVersion: '4.0',
    cacheInstanceType: 'master-slave',
    shardNumber: 1,
    ...extra,
  };
}

/** Runs the CLI in-process against `stub` (no serve/accounts commands); captures its output and exit code. */
export async function runCliAgainstStub(stub: StubServer, args: string[], opts: { tty?: boolean; stdin?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const { runCli } = await import('../../src/cli/run-cli.ts');
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { isTTY: opts.tty ?? false, write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { HOME: '/nonexistent', JCS_ENDPOINT: stub.url, JCS_ACCESS_KEY: STUB_AK, JCS_SECRET_KEY: STUB_SK },
    readStdin: () => Promise.resolve(opts.stdin ?? ''),
  };
  const code = await runCli(['node', 'jcs-redis', ...args], { io, registerExtraCommands: () => {} });
  return { code, stdout, stderr };
}
