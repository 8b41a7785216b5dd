// startProxy when the instance's own twemproxy already holds the port (started meanwhile by another
// service process on this host, as in a 300 s chaos:pg run): that proxy is stopped and this start goes
// on, instead of failing with "port … is in use by another process". A port held by a process that is
// not this instance's proxy still fails. Real nutcracker; ports 24800-24803.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { proxyPaths, ProxyPortTaken, runningProxy, startProxy, stopProxy, writeProxyConf, type ProxyConf } from '../../src/drivers/local/nutcracker.ts';
import { recordingLogger } from '../drivers/local-harness.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'jcs-proxy-own-'));
const logger = recordingLogger();

function conf(port: number): ProxyConf {
  const paths = proxyPaths(dataDir, 'redis-ownport', port);
  return { paths, bindHost: '127.0.0.1', port, password: null, servers: [join(dataDir, 'none.sock')], clientConnections: 10 };
}

afterAll(async () => {
  // A failed case leaves its proxy running: stopped here (safe when none runs).
  for (const port of [24_800, 24_802]) await stopProxy(conf(port).paths, '127.0.0.1', port);
  await rm(dataDir, { recursive: true, force: true });
});

describe('startProxy and a port its own instance holds', () => {
  it('stops the instance\'s own proxy that holds the port and starts', async () => {
    const c = conf(24_800);
    const text = await writeProxyConf(c);
    const opts = { nutcracker: 'nutcracker', conf: c, text, statsPort: 24_801, logger, signal: AbortSignal.timeout(30_000) };
    const first = await startProxy(opts);
    // A second start, as another process makes it after it saw no proxy running.
    const second = await startProxy(opts);
    expect(second).not.toBe(first);
    expect(await runningProxy(c.paths)).toBe(second);
    expect(logger.lines.some((l) => l.includes('held by a twemproxy of this same instance'))).toBe(true);
    await stopProxy(c.paths, c.bindHost, c.port);
  });

  it('still refuses a port held by some other process', async () => {
    const c = conf(24_802);
    const text = await writeProxyConf(c);
    const other = createServer();
    await new Promise<void>((r) => other.listen(24_802, '127.0.0.1', r));
    try {
      await expect(startProxy({ nutcracker: 'nutcracker', conf: c, text, statsPort: 24_803, logger, signal: AbortSignal.timeout(30_000) })).rejects.toBeInstanceOf(ProxyPortTaken);
    } finally {
      await new Promise((r) => other.close(r));
    }
  });
});
