/**
 * Who may read /metrics (it names every account's instances): this host only by default on the API
 * port; with JCS_METRICS_TOKEN only a request carrying it; on a listener of its own, whoever reaches it.
 * Refusals are the JD envelope, 401, and never echo what was sent.
 */
import { describe, expect, it } from 'vitest';
import { buildMetricsApp } from '../../src/api/build-metrics-app.ts';

const endpoint = { render: () => Promise.resolve({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'jcs_instances{status="running"} 1\n' }) };

describe('/metrics access', () => {
  it('answers this host and refuses another without a token', async () => {
    const app = await buildMetricsApp(endpoint, { anyClient: false });
    const local = await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' });
    expect(local.statusCode).toBe(200);
    expect(local.body).toContain('jcs_instances');
    expect(local.headers['content-type']).toMatch(/^text\/plain/);
    const remote = await app.inject({ url: '/metrics', remoteAddress: '10.1.2.3' });
    expect(remote.statusCode).toBe(401);
    expect(remote.json()).toMatchObject({ error: { code: 401, status: 'ACCESS_ERROR', message: expect.stringMatching(/this host only/) } });
    await app.close();
  });

  it('with a token, wants exactly that token from everyone, this host included', async () => {
    const app = await buildMetricsApp(endpoint, { token: 'scrape-s3cret', anyClient: false });
    for (const authorization of [undefined, 'Bearer wrong', 'Bearer scrape-s3cre', 'scrape-s3cret', 'Basic scrape-s3cret']) {
      const res = await app.inject({ url: '/metrics', remoteAddress: '127.0.0.1', headers: authorization ? { authorization } : {} });
      expect(res.statusCode).toBe(401);
      expect(res.body).not.toContain('scrape-s3cret');
      expect(res.body).not.toContain('wrong');
    }
    const ok = await app.inject({ url: '/metrics', remoteAddress: '10.1.2.3', headers: { authorization: 'Bearer scrape-s3cret' } });
    expect(ok.statusCode).toBe(200);
    await app.close();
  });

  it('on its own listener answers anyone, and only /metrics', async () => {
    const app = await buildMetricsApp(endpoint, { anyClient: true });
    expect((await app.inject({ url: '/metrics', remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
    const other = await app.inject({ url: '/v1/regions/cn-north-1/cacheInstance', remoteAddress: '127.0.0.1' });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ error: { status: 'NOT_FOUND' } });
    await app.close();
  });
});
