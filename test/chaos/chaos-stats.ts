/** The q-quantile (0..1) of `xs` by nearest rank; NaN for an empty list. */
export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** `median … ms, p95 … ms (n=…)`, for reports. */
export function summarizeMs(xs: readonly number[]): string {
  if (xs.length === 0) return 'no samples';
  return `median ${Math.round(percentile(xs, 0.5))} ms, p95 ${Math.round(percentile(xs, 0.95))} ms, max ${Math.round(Math.max(...xs))} ms (n=${xs.length})`;
}
