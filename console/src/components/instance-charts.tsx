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
    </section>
  );
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
