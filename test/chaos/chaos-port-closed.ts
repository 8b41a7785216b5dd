import { connect } from 'node:net';

/**
 * Polls until nothing accepts connections on 127.0.0.1:`port` and returns when that was first seen
 * (NaN after `timeoutMs`). SIGKILL lands asynchronously: a write sent in the first instant after the
 * kill may still be served by the dying process, so recovery timers only count writes sent after this.
 */
export async function portClosedAt(port: number, timeoutMs = 2_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (!open) return Date.now();
    await new Promise((r) => setTimeout(r, 1));
  }
  return NaN;
}

/** True when something accepts connections on 127.0.0.1:`port`. */
function portOpen(port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * A `JCS_INSTANCE_PORTS` range of `size` ports inside [from, to], chosen at random among the blocks on
 * which nothing listens now (any block when none is quiet). Two copies of the short chaos run on one
 * host (a CI clone next to a developer's `npm test`) then rarely share ports: the engine would see the
 * other run's nodes as foreign processes and move nodes away from them, which is not the chaos under test.
 */
export async function quietPortBlock(from: number, to: number, size: number): Promise<string> {
  const starts: number[] = [];
  for (let s = from; s + size - 1 <= to; s += size) starts.push(s);
  const shuffled = starts.map((s) => ({ s, r: Math.random() })).sort((a, b) => a.r - b.r).map((x) => x.s);
  for (const start of shuffled) {
    const ports = Array.from({ length: size }, (_, i) => start + i);
    const open = await Promise.all(ports.map(portOpen));
    if (!open.some(Boolean)) return `${start}-${start + size - 1}`;
  }
  const start = shuffled[0]!;
  return `${start}-${start + size - 1}`;
}
