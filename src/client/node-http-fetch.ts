import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The part of a fetch Response the client reads. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The part of fetch the client calls; the global fetch fits it. */
export type HttpFetch = (url: string, init: { method: string; headers: Record<string, string>; body?: string | undefined; signal?: AbortSignal }) => Promise<HttpAnswer>;

/**
 * A one-shot request over node:http(s), for the CLI: Node 20's global fetch loads and compiles its
 * HTTP stack (undici) on first use, which took about a third of a second of every `jcs-redis` command's
 * start-up (bench:cli). Errors carry their code (ECONNREFUSED, …) like fetch's `cause`.
 */
export const nodeHttpFetch: HttpFetch = (url, init) =>
  new Promise((resolve, reject) => {
    const target = new URL(url);
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
      target,
      { method: init.method, headers: init.body === undefined ? init.headers : { ...init.headers, 'content-length': String(Buffer.byteLength(init.body)) }, signal: init.signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          resolve({
            status,
            statusText: res.statusMessage ?? '',
            ok: status >= 200 && status < 300,
            headers: { get: (name) => {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            } },
            text: () => Promise.resolve(text),
          });
        });
      },
    );
    request.on('error', (err) => reject(Object.assign(new Error('request failed', { cause: err }), { name: (err as Error).name === 'AbortError' ? 'AbortError' : 'Error' })));
    if (init.body !== undefined) request.write(init.body);
    request.end();
  });
