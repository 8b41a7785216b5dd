/**
 * docs/api.md's coverage table against the app: one row per operation of JD's Redis API (the 62 of
 * the official JS SDK), each with the SDK's method and path; every route the app registers under /v1
 * is in the table with the same method and path; an operation marked 501 answers 501 NOT_IMPLEMENTED
 * naming it (and 401 unsigned), one marked implemented answers something else and names a behaviour
 * test file that exists and calls it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/build-app.ts';
import type { DiagnosticsService } from '../../src/domain/diagnostics/diagnostics-service.ts';
import type { InstanceSettingsService } from '../../src/domain/settings/instance-settings-service.ts';
import { JD_OPERATIONS } from '../../src/api/jd-operations.ts';
import { DomainError } from '../../src/domain/domain-error.ts';
import type { InstanceService } from '../../src/domain/instances/instance-service.ts';
import type { ClearDataService } from '../../src/domain/clear-data/clear-data-service.ts';
import type { BackupService } from '../../src/domain/backups/backup-service.ts';
import type { TaskProgressService } from '../../src/domain/analysis/task-progress-service.ts';
import type { CacheAnalysisService } from '../../src/domain/analysis/cache-analysis-service.ts';
import { createLogger } from '../../src/logger.ts';
import { signRequest } from '../../src/signing/sign-request.ts';

const root = new URL('../../', import.meta.url);

interface Row {
  name: string;
  method: string;
  path: string;
  status: string;
  test: string;
}

function tableRows(): Row[] {
  const text = readFileSync(new URL('docs/api.md', root), 'utf8');
  return [...text.matchAll(/^\| (\d+) \| (\w+) \| `(\w+) ([^`]+)` \| (implemented|501) \| (?:\[`([^`]+)`\]\([^)]*\))? *\|$/gm)].map((m) => ({
    name: m[2]!,
    method: m[3]!,
    path: m[4]!,
    status: m[5]!,
    test: m[6] ?? '',
  }));
}

/** A service whose every method finds nothing: implemented instance routes answer 404. */
const nothingFound = new Proxy(
  {},
  {
    get: () => () => {
      throw new DomainError('NOT_FOUND', 'cacheInstance not found');
    },
  },
) as InstanceService;

let app: FastifyInstance;
beforeAll(async () => {
  app = await buildApp({
    logger: createLogger('silent'),
    instances: nothingFound,
    clearData: nothingFound as unknown as ClearDataService,
    settings: nothingFound as unknown as InstanceSettingsService,
    diagnostics: nothingFound as unknown as DiagnosticsService,
    backups: nothingFound as unknown as BackupService,
    taskProgress: nothingFound as unknown as TaskProgressService,
    cacheAnalysis: nothingFound as unknown as CacheAnalysisService,
    regions: ['cn-north-1'],
    lookupSecret: (ak) => (ak === 'AK' ? 'SK' : undefined),
    replays: { admit: () => true },
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

/** The wire path of an operation as the JS SDK sends it (every segment encoded: `:` as `%3A`). */
function wirePath(path: string): string {
  const filled = path.replace('{regionId}', 'cn-north-1').replace('{cacheInstanceId}', 'redis-aaaaaaaaaaaa').replace('{taskId}', 't1');
  return filled.split('/').map((s) => encodeURIComponent(s)).join('/');
}

async function call(method: string, path: string, signed: boolean) {
  const body = method === 'POST' || method === 'PATCH' ? '{}' : undefined;
  const headers: Record<string, string> = { 'content-type': 'application/json', host: 'localhost:80' };
  if (signed) Object.assign(headers, signRequest({ method, path, query: '', headers, body }, { accessKey: 'AK', secretKey: 'SK' }, { region: 'cn-north-1' }));
  return app.inject({ method: method as 'GET', url: path, headers, ...(body === undefined ? {} : { payload: body }) });
}

describe('docs/api.md coverage table', () => {
  it('has one row per operation of the SDK, in its order, with its method and path', () => {
    const rows = tableRows();
    expect(rows.map((r) => [r.name, r.method, r.path])).toEqual(JD_OPERATIONS.map((op) => [op.name, op.method, op.path]));
    expect(rows).toHaveLength(62);
    const text = readFileSync(new URL('docs/api.md', root), 'utf8');
    expect(text).toContain(`Implemented: ${rows.filter((r) => r.status === 'implemented').length} of 62.`);
  });

  it('matches the SDK package itself (names, methods, paths)', () => {
    const require = createRequire(import.meta.url);
    const src = readFileSync(require.resolve('jdcloud-sdk-js/src/repo/redis/v1/redis.js'), 'utf8');
    const found = [...src.matchAll(/\n {2}(\w+) \(\s*opts,\s*regionId = this\.config\.regionId,\s*callback\s*\) \{[\s\S]*?super\.makeRequest\(\s*'([^']+)',\s*'(\w+)'/g)].map((m) => [
      m[1],
      m[3],
      `/v1${m[2]}`,
    ]);
    expect(found).toEqual(JD_OPERATIONS.map((op) => [op.name, op.method, op.path]));
  });

  it('lists every /v1 route the app registers, with the same method and path', () => {
    const spec = app.swagger() as { paths: Record<string, Record<string, { operationId?: string }>> };
    const registered = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => [op.operationId, method.toUpperCase(), path]));
    const rows = tableRows().map((r) => [r.name, r.method, r.path]);
    expect(registered.filter(([, , path]) => path!.startsWith('/v1/')).sort()).toEqual(rows.sort());
  });

  it('an implemented operation names an existing behaviour test that calls it', () => {
    for (const row of tableRows().filter((r) => r.status === 'implemented')) {
      expect(row.test, row.name).toMatch(/^test\/.+\.test\.ts$/);
      expect(row.test, row.name).not.toMatch(/\.fast\.test\.ts$/);
      const file = new URL(row.test, root);
      expect(existsSync(file), `${row.name}: ${row.test}`).toBe(true);
      expect(readFileSync(file, 'utf8'), `${row.name} in ${row.test}`).toMatch(new RegExp(`\\.${row.name}\\(`));
    }
  });

  for (const op of JD_OPERATIONS) {
    it(`${op.name} answers as the table says`, async () => {
      const row = tableRows().find((r) => r.name === op.name)!;
      const path = wirePath(op.path);
      const unsigned = await call(op.method, path, false);
      expect(unsigned.statusCode, unsigned.body).toBe(401);
      const res = await call(op.method, path, true);
      expect(res.headers['x-jdcloud-request-id']).toBe(res.json().requestId);
      if (row.status === '501') {
        expect(res.statusCode, res.body).toBe(501);
        expect(res.json().error).toMatchObject({ code: 501, status: 'NOT_IMPLEMENTED' });
        expect(res.json().error.message).toContain(op.name);
      } else {
        expect(res.statusCode, res.body).not.toBe(501);
        expect(res.json().error?.message ?? '').not.toMatch(/no such operation/);
      }
    });
  }

  it('keeps 404 for a path that is no operation and for an unknown instance', async () => {
    const unknownPath = await call('GET', '/v1/regions/cn-north-1/cacheInstance/redis-aaaaaaaaaaaa/noSuchThing', true);
    expect(unknownPath.statusCode).toBe(404);
    expect(unknownPath.json().error.status).toBe('NOT_FOUND');
    const unknownInstance = await call('GET', '/v1/regions/cn-north-1/cacheInstance/redis-aaaaaaaaaaaa', true);
    expect(unknownInstance.statusCode).toBe(404);
  });
});
