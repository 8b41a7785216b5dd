/**
 * The restore marker (src/drivers/local/restore-marker.ts) as a tenant's client sees it: every command,
 * pipelined or not, gets one error reply (AUTH aside: it is answered OK) saying the instance is being restored; nothing is acknowledged;
 * large arguments are skipped, not kept; a stream that is not RESP is cut off; a released port is free.
 */
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandCounter, holdRestoreMarker, type RestoreMarker } from '../../src/drivers/local/restore-marker.ts';
import { isPortHeld } from '../../src/drivers/local/redis-node.ts';
import { freePort } from '../helpers/service-process.ts';

let marker: RestoreMarker | null = null;
afterEach(async () => {
  await marker?.close();
  marker = null;
});

describe('CommandCounter', () => {
  it('counts RESP arrays, inline commands and skips bulk payloads split anywhere', () => {
    const big = 'x'.repeat(200_000);
    const stream = Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${big.length}\r\n${big}\r\nPING\r\n*1\r\n$4\r\nPING\r\n`);
    for (const step of [1, 7, 4096, stream.length]) {
      const c = new CommandCounter();
      const names: string[] = [];
      for (let i = 0; i < stream.length; i += step) names.push(...c.feed(stream.subarray(i, i + step))!);
      expect(names).toEqual(['set', 'ping', 'ping']);
    }
  });

  it('fails on what is not RESP (a bad bulk header, an endless line)', () => {
    expect(new CommandCounter().feed(Buffer.from('*2\r\n+nope\r\n'))).toBeNull();
    expect(new CommandCounter().feed(Buffer.alloc(70_000, 97))).toBeNull();
  });
});

describe('holdRestoreMarker', () => {
  it('answers every command of a real client with an error that says a restore is under way', async () => {
    const port = await freePort();
    marker = await holdRestoreMarker('127.0.0.1', [port], 'redis-test00001');
    expect(marker.ports).toEqual([port]);
    const client = new Redis({ port, host: '127.0.0.1', password: 'Secret123', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
    client.on('error', () => undefined);
    try {
      await client.connect().catch(() => undefined);
      await expect(client.set('k', 'v')).rejects.toThrow(/LOADING instance redis-test00001 is being restored from a backup/);
      const replies = await client.pipeline().set('a', '1').get('a').incr('n').exec();
      expect(replies!.map(([err]) => (err as Error | null)?.message)).toEqual(Array(3).fill(expect.stringMatching(/being restored/)));
    } finally {
      client.disconnect();
    }
  });

  it('cuts off a client that does not speak RESP, and frees the port when released', async () => {
    const port = await freePort();
    marker = await holdRestoreMarker('127.0.0.1', [port], 'redis-test00002');
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => s.write('*1\r\n:oops\r\n'));
      s.on('close', () => resolve(true));
      s.on('error', () => undefined);
    });
    expect(closed).toBe(true);
    await marker.release(port);
    expect(marker.ports).toEqual([]);
    expect(await isPortHeld('127.0.0.1', port)).toBe(false);
  });
});
