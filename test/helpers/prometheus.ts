/**
 * A real Prometheus (Debian's `prometheus`) for tests: started on a free port with a temporary config and
 * data directory, scraping one target every second; queried through its HTTP API; removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './service-process.ts';

export interface PrometheusServer {
  url: string;
  /** Values of an instant PromQL query: each series' labels and value. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>;
  /** The target's last scrape: `up`, or `unknown` before the first one. */
  targetHealth(): Promise<string>;
  stop(): Promise<void>;
}

export async function startPrometheus(target: { hostPort: string; path?: string; bearerToken?: string }): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'jcs-prom-'));
  const port = await freePort();
  // honor_labels: the service's own `instance` label (the Redis instance id) must win over the target's.
  const auth = target.bearerToken ? `    authorization: { credentials: '${target.bearerToken}' }\n` : '';
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n  - job_name: jcs-redis\n    honor_labels: true\n    metrics_path: ${target.path ?? '/metrics'}\n${auth}    static_configs: [{ targets: ['${target.hostPort}'] }]\n`,
  );
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const api = async (path: string): Promise<unknown> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: unknown; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  try {
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (i > 300) throw new Error(`prometheus did not become ready: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async query(promql) {
      const data = (await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)) as { result: { metric: Record<string, string>; value: [number, string] }[] };
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targetHealth() {
      const data = (await api('/api/v1/targets')) as { activeTargets: { health: string }[] };
      return data.activeTargets[0]?.health ?? 'unknown';
    },
    stop,
  };
}
