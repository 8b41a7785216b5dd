/**
 * /metrics scraped by a real Prometheus (Debian's `prometheus`, started here on a free port with a
 * temporary config and data dir): after writes to a real instance, Prometheus's HTTP API returns the
 * per-instance series with the instance's labels and the counters the writes moved; API and engine
 * series are there; and scraping adds no Redis command (the series come from the health checks' samples).
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus.ts';
import { msSpec, startTestService, TEST_AK, waitForStatus, type TestService } from '../helpers/test-service.ts';

let svc: TestService;
let prom: PrometheusServer;
let id = '';
let port = 0;

/** Polls a PromQL query until `ok` holds for its result (Prometheus scrapes every second). */
async function eventually(promql: string, ok: (r: { metric: Record<string, string>; value: number }[]) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last: { metric: Record<string, string>; value: number }[] = [];
  while (Date.now() < deadline) {
    last = await prom.query(promql);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${promql} never held; last: ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  svc = await startTestService({ instancePorts: '28400-28449' });
  prom = await startPrometheus({ hostPort: new URL(svc.url).host });
  const sdk = svc.sdk();
  id = (await sdk.createCacheInstance({ cacheInstance: msSpec({ password: 'Abcd1234', cacheInstanceName: 'metrics_pair' }) })).result.cacheInstanceId as string;
  expect(await waitForStatus(sdk, id, ['running', 'error'])).toBe('running');
  port = (await sdk.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance.port as number;
});

afterAll(async () => {
  await prom?.stop();
  await svc?.destroy();
});

describe('metrics through a real Prometheus', () => {
  it('has per-instance series with the instance, account, region, role and shard labels after writes', async () => {
    const c = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', lazyConnect: true, maxRetriesPerRequest: 0 });
    await c.connect();
    try {
      for (let i = 0; i < 20; i++) await c.set(`k${i}`, 'v'.repeat(1000));
      for (let i = 0; i < 7; i++) await c.get('k1');
      await c.get('missing');
    } finally {
      c.disconnect();
    }
    const hits = await eventually(`jcs_instance_keyspace_hits{instance="${id}"}`, (r) => r.some((s) => s.value >= 7));
    expect(hits.map((s) => s.metric)).toContainEqual(expect.objectContaining({ instance: id, account: TEST_AK, region: 'cn-north-1', role: 'master', shard: '0' }));
    await eventually(`jcs_instance_keyspace_misses{instance="${id}",role="master"}`, (r) => r[0] !== undefined && r[0].value >= 1);
    // 20 keys of 1000 bytes moved used_memory above an empty node's; both nodes carry it.
    const used = await eventually(`jcs_instance_used_memory_bytes{instance="${id}"}`, (r) => r.length === 2 && r.every((s) => s.value > 20_000));
    expect(used.map((s) => s.metric.role).sort()).toEqual(['master', 'replica']);
    const up = await prom.query(`jcs_instance_up{instance="${id}"}`);
    expect(up.map((s) => s.value)).toEqual([1, 1]);
    const max = await prom.query(`jcs_instance_maxmemory_bytes{instance="${id}",role="master"}`);
    expect(max[0]?.value).toBeGreaterThan(0);
    expect((await prom.query(`jcs_instance_repl_offset_lag_bytes{instance="${id}"}`)).map((s) => s.metric.role)).toEqual(['replica']);
    expect((await prom.query(`jcs_instance_connected_clients{instance="${id}",role="master"}`))[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('has API requests by operation and status, task outcomes by kind, queue depth and instance counts', async () => {
    await eventually('jcs_api_request_duration_seconds_count{operation="createCacheInstance",status="200"}', (r) => r[0]?.value === 1);
    await eventually('jcs_api_request_duration_seconds_bucket{operation="describeCacheInstance",status="200",le="+Inf"}', (r) => (r[0]?.value ?? 0) >= 1);
    await eventually('jcs_engine_tasks_total{kind="create",outcome="done"}', (r) => r[0]?.value === 1);
    await eventually('jcs_instances{status="running"}', (r) => r[0]?.value === 1);
    expect((await prom.query('jcs_engine_queue_depth')).map((s) => s.metric.state).sort()).toEqual(['queued', 'running']);
    expect(await prom.targetHealth()).toBe('up');
  });

  it("the Grafana dashboard's queries are valid PromQL over metrics the service exports", async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../contrib/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr.replaceAll('$instance', '.*').replaceAll('$account', '.*')));
    expect(exprs.length).toBeGreaterThan(10);
    const names = new Set(exprs.flatMap((e) => e.match(/\bjcs_[a-z_]+/g) ?? []).map((n) => n.replace(/_(bucket|count|sum)$/, '')));
    for (const expr of exprs) await prom.query(expr); // throws on a query Prometheus refuses
    // Every metric named is one the service declares (a series may be absent: no failover happened yet).
    const exported = await (await fetch(`${svc.url}/metrics`)).text();
    for (const name of names) expect(exported, name).toContain(`# TYPE ${name} `);
  });

  it('adds no Redis command per scrape', async () => {
    // With the engine stopped, nothing else asks the node for INFO: every INFO it counts is ours.
    await svc.engine.stop();
    const c = new Redis({ host: '127.0.0.1', port, password: 'Abcd1234', lazyConnect: true, maxRetriesPerRequest: 0 });
    await c.connect();
    const infoCalls = async (): Promise<number> => Number(/cmdstat_info:calls=(\d+)/.exec(await c.info('commandstats'))?.[1] ?? NaN);
    try {
      const before = await infoCalls();
      for (let i = 0; i < 5; i++) expect((await fetch(`${svc.url}/metrics`)).status).toBe(200);
      // Prometheus scraped meanwhile too; the only INFO since `before` is the one that read it.
      expect(await infoCalls()).toBe(before + 1);
    } finally {
      c.disconnect();
    }
  });
});
