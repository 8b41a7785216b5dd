/**
 * contrib/: the systemd unit keeps instances alive across a restart of the service (KillMode=process)
 * and runs as the unprivileged `jcs-redis` user; the Grafana dashboard is valid JSON over the service's
 * metrics (test/metrics/prometheus-scrape.test.ts runs its queries against a real Prometheus).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('contrib', () => {
  it('systemd unit: KillMode=process, the jcs-redis user, jcs-redis serve', () => {
    const unit = read('contrib/jcs-redis.service');
    const settings = new Map(unit.split('\n').filter((l) => /^\w+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(settings.get('KillMode')).toBe('process');
    expect(settings.get('User')).toBe('jcs-redis');
    expect(settings.get('ExecStart')).toMatch(/jcs-redis serve$/);
    expect(settings.get('UMask')).toBe('0077');
  });

  it('Grafana dashboard: every panel queries jcs_ metrics', () => {
    const dashboard = JSON.parse(read('contrib/grafana-dashboard.json')) as { uid: string; panels: { targets: { expr: string }[] }[] };
    expect(dashboard.uid).toBe('jcs-redis');
    for (const panel of dashboard.panels) for (const t of panel.targets) expect(t.expr).toMatch(/jcs_/);
  });
});
