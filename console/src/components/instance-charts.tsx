import { useMemo, useRef, useState } from 'react';
import type { ConsoleApi, InstanceSample, NodeSample } from '../api/console-api.ts';
import { usePoll } from '../use-poll.ts';
import { ApiErrorView } from './api-error-view.tsx';
import { LiveChart, type ChartSeries } from './live-chart.tsx';

const HOUR_MS = 3_600_000;
const MB = 1024 * 1024;

/**
 * The last hour of the samples the health loop took (GET …/samples), fetched again every 5 s for what
 * is new only. A cluster shows one line per shard for ops/s; the other charts add the masters up.
 */
export function InstanceCharts({ api, region, id }: { api: ConsoleApi; region: string; id: string }) {
  const [samples, setSamples] = useState<InstanceSample[]>([]);
  const [error, setError] = useState<unknown>();
  const last = useRef(0);

  usePoll(
    async () => {
      try {
        const since = last.current || Date.now() - HOUR_MS;
        const got = (await api.samples(region, id, since)).samples.filter((s) => s.at > last.current);
        if (got.length === 0) return;
        last.current = got[got.length - 1]!.at;
        setSamples((old) => [...old, ...got].filter((s) => s.at >= Date.now() - HOUR_MS));
        setError(undefined);
      } catch (err) {
        setError(err);
      }
    },
    5_000,
    [api, region, id],
  );

  const charts = useMemo(() => chartData(samples), [samples]);
  return (
    <section aria-labelledby="charts-title">
      <h2 id="charts-title">Last hour</h2>
      <ApiErrorView error={error} />
      <div className="charts">
        <LiveChart title="ops/s" unit="" times={charts.times} series={charts.ops} />
        <LiveChart title="memory" unit=" MB" times={charts.times} series={charts.memory} />
        <LiveChart title="clients" unit="" times={charts.times} series={charts.clients} />
        <LiveChart title="hit rate" unit=" %" times={charts.times} series={charts.hitRate} />
        <LiveChart title="replication lag" unit=" bytes" times={charts.times} series={charts.lag} />
      </div>
      <ShardTable sample={samples[samples.length - 1]} />
    </section>
  );
}

/**
 * A cluster's shards as the newest sample saw them: which node serves each shard (port, up or down),
 * its replicas and the shard's ops/s and memory. Nothing for an instance with one shard.
 */
export function ShardTable({ sample }: { sample: InstanceSample | undefined }) {
  const rows = sample ? shardRows(sample) : [];
  if (rows.length < 2) return null;
  return (
    <div className="table-wrap shards" tabIndex={0} role="region" aria-label="Shards table">
      <table aria-labelledby="shards-title">
        <caption id="shards-title">Shards ({rows.length})</caption>
        <thead>
          <tr>
            <th scope="col">Shard</th>
            <th scope="col">Master</th>
            <th scope="col">Replicas</th>
            <th scope="col">ops/s</th>
            <th scope="col">Used memory</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.shard} data-shard={r.shard}>
              <th scope="row">shard {r.shard}</th>
              <td data-testid="shard-master">{r.master ? `${r.master.port} ${r.master.up ? 'up' : 'down'}` : 'none'}</td>
              <td>{r.replicas.length ? r.replicas.map((n) => `${n.port} ${n.up ? 'up' : 'down'}`).join(', ') : 'none'}</td>
              <td>{r.master?.opsPerSec ?? '–'}</td>
              <td>{r.master?.usedMemoryBytes == null ? '–' : `${(r.master.usedMemoryBytes / MB).toFixed(1)} MB`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function shardRows(sample: InstanceSample): { shard: number; master: NodeSample | undefined; replicas: NodeSample[] }[] {
  const shards = [...new Set(sample.nodes.map((n) => n.shard).filter((v): v is number => v !== null))].sort((a, b) => a - b);
  return shards.map((shard) => {
    const nodes = sample.nodes.filter((n) => n.shard === shard);
    return { shard, master: nodes.find((n) => n.role === 'master'), replicas: nodes.filter((n) => n.role !== 'master') };
  });
}

const masters = (s: InstanceSample): NodeSample[] => s.nodes.filter((n) => n.role === 'master');
const sum = (nodes: NodeSample[], pick: (n: NodeSample) => number | null): number | null => {
  const values = nodes.map(pick).filter((v): v is number => v !== null);
  return values.length ? values.reduce((a, b) => a + b, 0) : null;
};

/** Series for the charts; hit rate is the share of hits among lookups since the previous sample. */
export function chartData(samples: InstanceSample[]): { times: number[]; ops: ChartSeries[]; memory: ChartSeries[]; clients: ChartSeries[]; hitRate: ChartSeries[]; lag: ChartSeries[] } {
  const shards = [...new Set(samples.flatMap((s) => s.nodes.map((n) => n.shard)).filter((v): v is number => v !== null))].sort((a, b) => a - b);
  const ops: ChartSeries[] =
    shards.length > 1
      ? shards.map((shard) => ({ label: `shard ${shard}`, values: samples.map((s) => sum(masters(s).filter((n) => n.shard === shard), (n) => n.opsPerSec)) }))
      : [{ label: 'ops/s', values: samples.map((s) => sum(masters(s), (n) => n.opsPerSec)) }];
  const mb = (v: number | null): number | null => (v === null ? null : Math.round((v / MB) * 10) / 10);
  return {
    times: samples.map((s) => s.at),
    ops,
    memory: [
      { label: 'used', values: samples.map((s) => mb(sum(masters(s), (n) => n.usedMemoryBytes))) },
      { label: 'max', values: samples.map((s) => mb(sum(masters(s), (n) => n.maxmemoryBytes))) },
    ],
    clients: [{ label: 'clients', values: samples.map((s) => sum(masters(s), (n) => n.connectedClients)) }],
    hitRate: [
      {
        label: 'hit rate',
        values: samples.map((s, i) => {
          const prev = samples[i - 1];
          if (!prev) return null;
          const hits = (sum(masters(s), (n) => n.keyspaceHits) ?? 0) - (sum(masters(prev), (n) => n.keyspaceHits) ?? 0);
          const misses = (sum(masters(s), (n) => n.keyspaceMisses) ?? 0) - (sum(masters(prev), (n) => n.keyspaceMisses) ?? 0);
          return hits + misses > 0 ? Math.round((hits / (hits + misses)) * 1000) / 10 : null;
        }),
      },
    ],
    lag: [{ label: 'lag', values: samples.map((s) => s.nodes.reduce<number | null>((m, n) => (n.replOffsetLag === null ? m : Math.max(m ?? 0, n.replOffsetLag)), null)) }],
  };
}
