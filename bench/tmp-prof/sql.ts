import Database from 'better-sqlite3';
import { engineHarness } from '../../test/engine/engine-harness.ts';
const stats = new Map<string, { n: number; ms: number; rows: number }>();
let on = false;
const proto = (Database as unknown as { prototype: { prepare: (sql: string) => unknown } }).prototype;
const origPrepare = proto.prepare;
proto.prepare = function (this: unknown, sql: string) {
  const st = origPrepare.call(this, sql) as Record<string, (...a: unknown[]) => unknown>;
  for (const m of ['all', 'get', 'run', 'iterate']) {
    const f = st[m]!.bind(st);
    st[m] = (...a: unknown[]) => { const t = performance.now(); const r = f(...a); if (on) { const s = stats.get(sql.slice(0, 90)) ?? { n: 0, ms: 0, rows: 0 }; s.n++; s.ms += performance.now() - t; s.rows += Array.isArray(r) ? r.length : 1; stats.set(sql.slice(0, 90), s); } return r; };
  }
  return st;
};
const n = Number(process.env.N ?? 500);
const h = await engineHarness({ healthIntervalMs: 500, observeTimeoutMs: 5_000, logLevel: 'info' });
for (let i = 0; i < n; i++) await h.create(i % 2 ? 'AKONE' : 'AKTWO');
await h.engine.idle(120_000);
await new Promise((r) => setTimeout(r, 1000));
on = true; const c0 = process.cpuUsage(); const t0 = performance.now();
await new Promise((r) => setTimeout(r, 8000));
on = false; const dt = performance.now() - t0; const c = process.cpuUsage(c0);
console.log('cpu%', (((c.user + c.system) / 1000) / dt * 100).toFixed(2));
for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) console.log(`${(s.ms / dt * 100).toFixed(3)}% n=${s.n} rows=${s.rows} ${k}`);
await h.close();
