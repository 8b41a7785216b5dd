/**
 * The console's static files (src/api/routes/console-routes.ts) and the samples operation
 * (src/api/routes/samples-routes.ts) through app.inject(): headers that keep the page to its own
 * origin, no file outside the build, a clear answer when it is not built, and samples only of the
 * caller's own instance, only signed.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/build-app.ts';
import { DomainError } from '../../src/domain/domain-error.ts';
import type { InstanceService } from '../../src/domain/instances/instance-service.ts';
import type { InstanceSample } from '../../src/engine/instance-samples.ts';
import { createLogger } from '../../src/logger.ts';
import { signRequest } from '../../src/signing/sign-request.ts';

const dir = mkdtempSync(join(tmpdir(), 'jcs-console-routes-'));
const missing = join(dir, 'not-built');
const JS = 'console.log("console")';
const sample = (at: number): InstanceSample => ({
  at,
  nodes: [{ port: 6400, role: 'master', shard: 0, slot: 'master', usedMemoryBytes: 1, maxmemoryBytes: 2, connectedClients: 3, opsPerSec: 4, keyspaceHits: 5, keyspaceMisses: 6, evictedKeys: 0, replOffsetLag: null, up: true }],
});

/** Only AK's instance redis-mine exists; everything else is NOT_FOUND, as the real service answers. */
const instances = {
  describe: async (scope: { account: string }, id: string) => {
    if (scope.account === 'AK' && id === 'redis-mine') return { cacheInstanceId: id };
    throw new DomainError('NOT_FOUND', `cacheInstance ${id} not found`);
  },
} as unknown as InstanceService;

async function app(consoleDir: string): Promise<FastifyInstance> {
  const a = await buildApp({
    logger: createLogger('silent'),
    instances,
    regions: ['cn-north-1'],
    lookupSecret: (ak) => ({ AK: 'SK', OTHER: 'SK2' })[ak],
    replays: { admit: () => true },
    consoleDir,
    samples: { history: (id, since = 0) => (id === 'redis-mine' ? [sample(1000), sample(2000)].filter((s) => s.at > since) : []), latest: () => undefined, lastFailoverAt: () => undefined },
  });
  await a.ready();
  return a;
}

let built: FastifyInstance;
let unbuilt: FastifyInstance;
beforeAll(async () => {
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), JS);
  writeFileSync(join(dir, 'assets', 'index-abc123.js.gz'), gzipSync(JS));
  writeFileSync(join(dir, 'secret.txt'), 'not to be served');
  built = await app(dir);
  unbuilt = await app(missing);
});
afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('console files', () => {
  it('serves the page without a signature, with a policy that keeps it to its own origin and out of frames', async () => {
    const res = await built.inject({ method: 'GET', url: '/console/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect((await built.inject({ method: 'GET', url: '/console' })).headers.location).toBe('/console/');
  });

  it('sends hashed assets compressed when the browser takes gzip, and cacheable for good', async () => {
    const res = await built.inject({ method: 'GET', url: '/console/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['cache-control']).toContain('immutable');
    const plain = await built.inject({ method: 'GET', url: '/console/assets/index-abc123.js' });
    expect(plain.body).toBe(JS);
  });

  it('serves nothing outside the built assets', async () => {
    for (const url of ['/console/secret.txt', '/console/assets/..%2Fsecret.txt', '/console/assets/%2E%2E%2Fsecret.txt', '/console/assets/.hidden', '/console/assets/../secret.txt', '/console/../package.json']) {
      const res = await built.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode }).not.toEqual({ url, status: 200 });
      expect(res.body).not.toContain('not to be served');
      expect(res.statusCode).toBeLessThan(500);
    }
  });

  it('says how to build the console when the files are missing', async () => {
    const res = await unbuilt.inject({ method: 'GET', url: '/console/' });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.message).toContain('npm run build:console');
  });
});

describe('describeInstanceSamples', () => {
  const path = (id: string) => `/jcs/v1/regions/cn-north-1/cacheInstance/${id}/samples`;
  const signed = (id: string, query: string, ak = 'AK', sk = 'SK') => {
    const headers: Record<string, string> = { 'content-type': 'application/json', host: 'localhost:80' };
    Object.assign(headers, signRequest({ method: 'GET', path: path(id), query, headers }, { accessKey: ak, secretKey: sk }, { region: 'cn-north-1' }));
    return built.inject({ method: 'GET', url: query ? `${path(id)}?${query}` : path(id), headers });
  };

  it('answers the caller its instance\'s samples after sinceMs, with the documented fields only', async () => {
    const res = await signed('redis-mine', 'sinceMs=1500');
    expect(res.statusCode).toBe(200);
    const samples = res.json().result.samples as InstanceSample[];
    expect(samples.map((s) => s.at)).toEqual([2000]);
    expect(samples[0]!.nodes[0]).toEqual({ port: 6400, role: 'master', shard: 0, usedMemoryBytes: 1, maxmemoryBytes: 2, connectedClients: 3, opsPerSec: 4, keyspaceHits: 5, keyspaceMisses: 6, evictedKeys: 0, replOffsetLag: null, up: true });
  });

  it('refuses unsigned callers, another account (NOT_FOUND, no existence leak) and a bad sinceMs', async () => {
    expect((await built.inject({ method: 'GET', url: path('redis-mine') })).statusCode).toBe(401);
    const other = await signed('redis-mine', '', 'OTHER', 'SK2');
    expect(other.statusCode).toBe(404);
    expect(other.json().error.status).toBe('NOT_FOUND');
    const bad = await signed('redis-mine', 'sinceMs=-1');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.message).toContain('sinceMs');
  });

  it('is described in the OpenAPI document', async () => {
    const doc = (await built.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { operationId?: string }>> };
    expect(doc.paths['/jcs/v1/regions/{regionId}/cacheInstance/{cacheInstanceId}/samples']?.get?.operationId).toBe('describeInstanceSamples');
  });
});
