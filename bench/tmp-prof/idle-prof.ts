import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { engineHarness } from '../../test/engine/engine-harness.ts';
const n = Number(process.env.N ?? 500);
const h = await engineHarness({ healthIntervalMs: 500, observeTimeoutMs: 5_000, logLevel: 'info' });
for (let i = 0; i < n; i++) await h.create(i % 2 ? 'AKONE' : 'AKTWO');
await h.engine.idle(120_000);
await new Promise((r) => setTimeout(r, 1000));
const s = new Session(); s.connect();
await s.post('Profiler.enable'); await s.post('Profiler.start');
const c0 = process.cpuUsage(); const t0 = performance.now();
await new Promise((r) => setTimeout(r, 8000));
const c = process.cpuUsage(c0);
console.log('cpu %', ((c.user + c.system) / 1000 / (performance.now() - t0)) * 100);
const { profile } = await s.post('Profiler.stop');
writeFileSync('/tmp/prof/idle.cpuprofile', JSON.stringify(profile));
// self time by function
const self = new Map<string, number>();
const total = profile.samples!.length;
const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]));
const counts = new Map<number, number>();
for (const sid of profile.samples!) counts.set(sid, (counts.get(sid) ?? 0) + 1);
for (const [id, k] of counts) { const nd = byId.get(id)!; const key = `${nd.callFrame.functionName || '(anon)'} ${nd.callFrame.url.split('/').slice(-2).join('/')}:${nd.callFrame.lineNumber}`; self.set(key, (self.get(key) ?? 0) + k); }
console.log([...self].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]) => `${(100 * v / total).toFixed(1)}% ${k}`).join('\n'));
await h.close();
// inclusive
const parent = new Map<number, number>();
for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id);
const incl = new Map<string, number>();
for (const [id, k] of counts) {
  const seen = new Set<string>();
  let cur: number | undefined = id;
  while (cur !== undefined) { const nd = byId.get(cur)!; const key = `${nd.callFrame.functionName || '(anon)'} ${nd.callFrame.url.split('/').slice(-2).join('/')}`; if (!seen.has(key)) { seen.add(key); incl.set(key, (incl.get(key) ?? 0) + k); } cur = parent.get(cur); }
}
console.log('--- inclusive');
console.log([...incl].sort((a, b) => b[1] - a[1]).slice(0, 45).map(([k, v]) => `${(100 * v / total).toFixed(2)}% ${k}`).join('\n'));
