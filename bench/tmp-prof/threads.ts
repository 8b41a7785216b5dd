import { readdirSync, readFileSync } from 'node:fs';
import { engineHarness } from '../../test/engine/engine-harness.ts';
const n = Number(process.env.N ?? 500);
const h = await engineHarness({ healthIntervalMs: 500, observeTimeoutMs: 5_000, logLevel: 'info' });
for (let i = 0; i < n; i++) await h.create(i % 2 ? 'AKONE' : 'AKTWO');
await h.engine.idle(120_000);
await new Promise((r) => setTimeout(r, 1000));
const read = () => new Map(readdirSync('/proc/self/task').map((t) => { const s = readFileSync(`/proc/self/task/${t}/stat`, 'utf8'); const name = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return [`${t} ${name}`, Number(f[11]) + Number(f[12])]; }));
const a = read(); const t0 = performance.now();
const obs0 = h.fake.calls.length;
await new Promise((r) => setTimeout(r, 8000));
const b = read(); const dt = (performance.now() - t0) / 1000;
for (const [k, v] of b) { const d = v - (a.get(k) ?? 0); if (d > 0) console.log(k, ((d / 100) / dt * 100).toFixed(2) + '%'); }
console.log('driver calls/s', ((h.fake.calls.length - obs0) / dt).toFixed(1));
await h.close();
