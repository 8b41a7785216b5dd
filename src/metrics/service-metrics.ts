/**
 * Prometheus metrics of the service (prom-client), rendered at `/metrics`. Everything comes from what
 * the service already knows: API requests as they finish, the engine's events and queue, the store's
 * instance rows, and the engine's samples of each instance's nodes (engine/instance-samples.ts), which
 * the health checks fill. A scrape reads the store once and never calls Redis.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '../engine/engine.ts';
import type { EngineEvent } from '../engine/engine-events.ts';
import type { NodeSample } from '../engine/instance-samples.ts';
import type { Db } from '../store/open-store.ts';
import { instanceLabels } from '../store/instances-repo.ts';

/** What the API needs of the metrics: record a finished request, render the text a scrape gets. */
export interface MetricsEndpoint {
  observeRequest(operation: string, status: number, seconds: number): void;
  render(): Promise<{ contentType: string; body: string }>;
}

export interface ServiceMetrics extends MetricsEndpoint {
  /** Stops listening to the engine. */
  close(): void;
}

const NODE_LABELS = ['instance', 'account', 'region', 'role', 'shard', 'slot'] as const;
/** Per-node gauges: metric name, help, the sample field it shows. */
const NODE_GAUGES: [name: string, help: string, field: keyof NodeSample][] = [
  ['jcs_instance_used_memory_bytes', 'used_memory of the node at its last health check', 'usedMemoryBytes'],
  ['jcs_instance_maxmemory_bytes', 'maxmemory of the node', 'maxmemoryBytes'],
  ['jcs_instance_connected_clients', 'connected_clients of the node (the control plane and replication links included)', 'connectedClients'],
  ['jcs_instance_ops_per_second', 'instantaneous_ops_per_sec of the node', 'opsPerSec'],
  ['jcs_instance_keyspace_hits', 'keyspace_hits of the node since it started', 'keyspaceHits'],
  ['jcs_instance_keyspace_misses', 'keyspace_misses of the node since it started', 'keyspaceMisses'],
  ['jcs_instance_evicted_keys', 'evicted_keys of the node since it started', 'evictedKeys'],
  ['jcs_instance_repl_offset_lag_bytes', "replica only: replication offset behind its shard's master", 'replOffsetLag'],
];

/** Histogram buckets for API latency, seconds: cached reads take well under a millisecond, creates tens. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Outcome label of a task event, or undefined for events that are not an outcome. */
function taskOutcome(e: EngineEvent): string | undefined {
  if (e.type === 'task-finished') return 'done';
  if (e.type === 'task-progressing') return 'progressing';
  if (e.type === 'task-failed') return e.final ? 'failed' : 'retried';
  return undefined;
}

/** Builds the registry (one per service, no global state) and subscribes to the engine's events. */
export function createServiceMetrics(deps: { db: Db; engine: Engine }): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: 'jcs_api_request_duration_seconds',
    help: 'API requests by JD operation and HTTP status, with their latency',
    labelNames: ['operation', 'status'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const tasks = new Counter({ name: 'jcs_engine_tasks_total', help: 'Task steps by kind and outcome (done, failed, retried, progressing)', labelNames: ['kind', 'outcome'], registers: [registry] });
  const repairs = new Counter({ name: 'jcs_engine_health_events_total', help: 'Health-check findings: unhealthy, repaired, repair-failed', labelNames: ['type'], registers: [registry] });
  const queue = new Gauge({ name: 'jcs_engine_queue_depth', help: "Work items in the engine's queue (tasks and health checks)", labelNames: ['state'], registers: [registry] });
  const instances = new Gauge({ name: 'jcs_instances', help: 'Instances by status', labelNames: ['status'], registers: [registry] });
  const up = new Gauge({ name: 'jcs_instance_up', help: 'Whether the node answered its last health check (1) or not (0)', labelNames: NODE_LABELS, registers: [registry] });
  const nodeGauges = NODE_GAUGES.map(([name, help, field]) => ({ field, gauge: new Gauge({ name, help, labelNames: NODE_LABELS, registers: [registry] }) }));
  const sampleAge = new Gauge({ name: 'jcs_instance_sample_timestamp_seconds', help: "When the instance's last health-check sample was taken", labelNames: ['instance', 'account', 'region'], registers: [registry] });
  const failover = new Gauge({
    name: 'jcs_instance_last_failover_timestamp_seconds',
    help: 'When a shard of the instance last lost its master (seen by the health checks since the service started)',
    labelNames: ['instance', 'account', 'region'],
    registers: [registry],
  });

  const unsubscribe = deps.engine.onEvent((e) => {
    const outcome = taskOutcome(e);
    if (outcome && 'kind' in e) tasks.inc({ kind: e.kind, outcome });
    else if (e.type === 'unhealthy' || e.type === 'repaired' || e.type === 'repair-failed') repairs.inc({ type: e.type });
  });

  /** Sets the gauges that are read at scrape time: queue, counts, and every sampled instance's nodes. */
  async function refresh(): Promise<void> {
    const work = deps.engine.workload();
    queue.set({ state: 'running' }, work.running);
    queue.set({ state: 'queued' }, work.queued);
    const rows = await instanceLabels(deps.db);
    instances.reset();
    for (const r of rows) instances.inc({ status: r.status });
    for (const g of [up, sampleAge, failover, ...nodeGauges.map((n) => n.gauge)]) g.reset();
    const samples = deps.engine.samples;
    for (const r of rows) {
      const sample = samples.latest(r.id);
      if (!sample) continue;
      const owner = { instance: r.id, account: r.account, region: r.region };
      sampleAge.set(owner, sample.at / 1000);
      const failedOver = samples.lastFailoverAt(r.id);
      if (failedOver !== undefined) failover.set(owner, failedOver / 1000);
      for (const n of sample.nodes) {
        const labels = { ...owner, role: n.role, shard: n.shard === null ? '' : String(n.shard), slot: n.slot };
        up.set(labels, n.up ? 1 : 0);
        for (const { field, gauge } of nodeGauges) {
          const value = n[field];
          if (typeof value === 'number') gauge.set(labels, value);
        }
      }
    }
  }

  return {
    observeRequest(operation, status, seconds) {
      requests.observe({ operation, status: String(status) }, seconds);
    },
    async render() {
      await refresh();
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    close: () => {
      unsubscribe();
    },
  };
}
