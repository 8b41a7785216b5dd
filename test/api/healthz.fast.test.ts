/**
 * GET /healthz as a load balancer or supervisor sees it: 200 while the engine and the store work,
 * 503 with the reason when they do not, and never anything that takes a signature or names the host.
 * The health function is the test's, so each answer can be driven; the real one (engine.health()
 * and a store read) is exercised by the end-to-end tier.
 */
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/build-app.ts';
import { createLogger } from '../../src/logger.ts';
import type { InstanceService } from '../../src/domain/instances/instance-service.ts';

async function appWith(health: () => Promise<{ ok: boolean; reason: string }>) {
  return buildApp({
    logger: createLogger('silent'),
    // No route but /healthz is called here: an instance service that is never reached.
    instances: {} as InstanceService,
    regions: ['cn-north-1'],
    lookupSecret: () => undefined,
    replays: { admit: () => true },
    health,
  });
}

describe('GET /healthz', () => {
  it('answers 200 ok when the engine and the store work', async () => {
    const app = await appWith(async () => ({ ok: true, reason: '' }));
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ result: { status: 'ok' } });
    await app.close();
  });

  it('answers 503 with the reason when the engine loop has stalled', async () => {
    const app = await appWith(async () => ({ ok: false, reason: 'the engine loop has not turned for 31 s' }));
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ result: { status: 'unavailable', reason: 'the engine loop has not turned for 31 s' } });
    expect(typeof res.json().requestId).toBe('string');
    await app.close();
  });

  it('answers 503, not 500, when the health check itself throws (the store does not answer)', async () => {
    const app = await appWith(() => Promise.reject(new Error('database is locked')));
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(503);
    expect(res.json().result).toEqual({ status: 'unavailable', reason: 'the store does not answer: database is locked' });
    await app.close();
  });

  it('needs no signature, and a signed-route path next to it still does', async () => {
    const app = await appWith(async () => ({ ok: true, reason: '' }));
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const signed = await app.inject({ method: 'GET', url: '/v1/regions/cn-north-1/quota' });
    expect(signed.statusCode).toBe(401);
    await app.close();
  });
});
