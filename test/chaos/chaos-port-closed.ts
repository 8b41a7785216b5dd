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
