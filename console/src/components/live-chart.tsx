import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  values: (number | null)[];
}

/**
 * One uPlot time-series chart (uPlot: ~50 KB, canvas, made for streaming series; see docs/console.md).
 * It follows its container's width. The caption carries the latest values as text, for screen
 * readers and for anyone who wants a number rather than a line.
 */
export function LiveChart({ title, times, series, unit }: { title: string; times: number[]; series: ChartSeries[]; unit: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const labels = series.map((s) => s.label).join('\n');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const colours = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#db2777'];
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 160,
        legend: { show: false },
        // One sample has no width: uPlot then spreads the axis over years. Show a minute either side instead.
        scales: { x: { time: true, range: (_u, min, max) => (min === max ? [min - 60, max + 60] : [min, max]) } },
        axes: [{}, { size: 60 }],
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colours[i % colours.length], width: 2 }))],
      },
      [[], ...series.map(() => [])],
      el,
    );
    plot.current = u;
    const resize = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 160 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      u.destroy();
      plot.current = null;
    };
    // A new set of series (a shard appeared) builds a new chart; new values only update it.
  }, [labels]);

  useEffect(() => {
    plot.current?.setData([times.map((t) => t / 1000), ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [times, series]);

  // One line needs no name beside the title; several are told apart by their labels.
  const latest = series.map((s) => `${series.length > 1 ? `${s.label} ` : ''}${format(s.values[s.values.length - 1])}${unit}`).join(', ');
  return (
    <figure className="chart">
      <figcaption>
        <strong>{title}</strong> <span data-testid={`latest-${title}`}>{times.length ? latest : 'no samples yet'}</span>
      </figcaption>
      <div ref={box} role="img" aria-label={`${title} over the last hour`} />
    </figure>
  );
}

function format(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
