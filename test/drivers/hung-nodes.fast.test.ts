// Unit test of the silence watch (src/drivers/local/hung-nodes.ts) against unix-socket servers this test
// controls: one that answers, one that accepts and says nothing until told to, one that hangs up.
// The real thing (a SIGSTOPped redis-server) is in hung-node.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { DEFAULT_HUNG_NODE_MS, HungNodes } from '../../src/drivers/local/hung-nodes.ts';

const dir = await mkdtemp(join(tmpdir(), 'jcs-hung-nodes-'));
const servers: Server[] = [];

afterAll(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

/** A unix-socket server; `behave` decides what each connection gets. */
async function server(name: string, behave: (socket: Socket) => void): Promise<string> {
  const path = join(dir, `${name}.sock`);
  const s = createServer(behave);
  servers.push(s);
  await new Promise<void>((resolve) => s.listen(path, resolve));
  return path;
}

const PROBE_MS = 50;

describe('HungNodes', () => {
  it('tells a node that answers from one that is not there', async () => {
    const hung = new HungNodes(300, PROBE_MS);
    const answering = await server('answering', (c) => c.once('data', () => c.write('+PONG\r\n')));
    expect(await hung.probe('a', answering)).toEqual({ kind: 'answers' });
    expect(await hung.probe('b', join(dir, 'nobody.sock'))).toEqual({ kind: 'absent' });
    expect(hung.silence('a')).toBeNull();
  });

  it('keeps the unanswered PING as a watch, measures silence from its start and calls the node hung at the bound', async () => {
    const hung = new HungNodes(300, PROBE_MS);
    const mute = await server('mute', () => undefined);
    const t0 = Date.now();
    const first = await hung.probe('m', mute);
    expect(first.kind).toBe('silent');
    // The next look reads the standing watch at once, with the same start.
    const before = Date.now();
    const second = await hung.probe('m', mute);
    expect(Date.now() - before).toBeLessThan(PROBE_MS);
    expect(second.kind === 'silent' && first.kind === 'silent' && second.since === first.since).toBe(true);
    expect(await hung.until('m', AbortSignal.timeout(5_000))).toBe('hung');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    hung.closeAll();
  });

  it('ends the silence the moment the node answers the watch, or hangs up', async () => {
    const waiting: Socket[] = [];
    const sleepy = await server('sleepy', (c) => waiting.push(c));
    const hung = new HungNodes(10_000, PROBE_MS);
    expect((await hung.probe('s', sleepy)).kind).toBe('silent');
    const until = hung.until('s', AbortSignal.timeout(5_000));
    setTimeout(() => waiting[0]!.write('-BUSY Redis is busy running a script\r\n'), 100);
    expect(await until).toBe('ended');
    expect(hung.silence('s')).toBeNull();

    expect((await hung.probe('s', sleepy)).kind).toBe('silent');
    const again = hung.until('s', AbortSignal.timeout(5_000));
    waiting[1]!.destroy();
    expect(await again).toBe('ended');
    expect(hung.silence('s')).toBeNull();
  });

  it('a read left unanswered starts the silence at the read, and a late answer clears it', async () => {
    const mute = await server('mute2', () => undefined);
    const hung = new HungNodes(1_000, PROBE_MS);
    const since = Date.now() - 400;
    expect(hung.suspect('r', mute, since)).toMatchObject({ kind: 'silent', since });
    expect(hung.silence('r')!.silentMs).toBeGreaterThanOrEqual(400);
    hung.answered('r');
    expect(hung.silence('r')).toBeNull();
  });

  it('two probes of a silent node at once keep one watch, the earlier', async () => {
    let open = 0;
    const mute = await server('mute4', (c) => {
      open++;
      c.once('close', () => open--);
      c.resume(); // reads the PING (and answers nothing), so the client's close is seen
    });
    const hung = new HungNodes(10_000, PROBE_MS);
    const [a, b] = await Promise.all([hung.probe('y', mute), hung.probe('y', mute)]);
    expect(a.kind).toBe('silent');
    expect(b.kind).toBe('silent');
    const since = hung.silence('y')!.since;
    expect(a.kind === 'silent' && b.kind === 'silent' && a.since === since && b.since === since).toBe(true);
    // The other PING's connection is closed, not left open: the server sees it end.
    await new Promise((r) => setTimeout(r, 50));
    expect(open).toBe(1);
    hung.closeAll();
  });

  it('stops waiting when the caller aborts, and keeps the watch', async () => {
    const mute = await server('mute3', () => undefined);
    const hung = new HungNodes(10_000, PROBE_MS);
    await hung.probe('x', mute);
    await expect(hung.until('x', AbortSignal.timeout(50))).rejects.toThrow();
    expect(hung.silence('x')?.kind).toBe('silent');
    hung.closeAll();
    expect(hung.silence('x')).toBeNull();
  });
});

describe('JCS_HUNG_NODE_MS', () => {
  it('defaults to the driver default (5 s), takes 0 (never fence) or at least 1000 ms, and refuses the rest', () => {
    expect(DEFAULT_HUNG_NODE_MS).toBe(5_000);
    expect(loadConfig({}).hungNodeMs).toBe(DEFAULT_HUNG_NODE_MS);
    expect(loadConfig({ JCS_HUNG_NODE_MS: '0' }).hungNodeMs).toBe(0);
    expect(loadConfig({ JCS_HUNG_NODE_MS: '2500' }).hungNodeMs).toBe(2_500);
    for (const bad of ['500', '-1', '1.5', 'soon', '']) {
      expect(() => loadConfig({ JCS_HUNG_NODE_MS: bad })).toThrow(/JCS_HUNG_NODE_MS must be 0 \(never fence\) or a whole number of ms >= 1000/);
    }
  });
});
