/**
 * What every backup file goes through (check-rdb.ts): redis-check-rdb, which also verifies the RDB's
 * CRC64 trailer (a flipped byte anywhere is refused, not only one that breaks the parse), and its SHA-256
 * from openssl, else sha256sum, else in process, all giving the same digest. The RDB comes from a real
 * redis-server on a unix socket only (no TCP port).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRdb, niceSha256, SHA256_TOOLS } from '../../src/drivers/local/check-rdb.ts';
import { PermanentDriverError } from '../../src/drivers/driver.ts';
import { connectWhenUp } from '../helpers/connect-when-up.ts';

const dir = mkdtempSync(join(tmpdir(), 'jcs-check-rdb-'));
const rdb = join(dir, 'dump.rdb');
const signal = new AbortController().signal;

beforeAll(async () => {
  const socket = join(dir, 'redis.sock');
  const server = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--dir', dir, '--dbfilename', 'dump.rdb', '--appendonly', 'no', '--save', '', '--rdbcompression', 'no'], { stdio: 'ignore' });
  try {
    // 200 tries 20 ms apart, as before.
    const client = await connectWhenUp({ path: socket }, server, 'redis-server', 4_000);
    const p = client.pipeline();
    // Uncompressed (rdbcompression no): a value's text is in the file as is, for the flip below.
    for (let i = 0; i < 2_000; i++) p.set(`k${i}`, createHash('sha256').update(String(i)).digest('hex').repeat(4));
    await p.exec();
    await client.call('SAVE');
    client.disconnect();
  } finally {
    server.kill('SIGKILL');
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkRdb', () => {
  it('accepts a whole RDB and counts its keys', async () => {
    await expect(checkRdb('redis-check-rdb', rdb, signal)).resolves.toEqual({ keys: 2_000 });
  });

  it('refuses a file with one byte flipped in the middle of a value (the CRC64 trailer no longer matches)', async () => {
    const bad = join(dir, 'flipped.rdb');
    const bytes = readFileSync(rdb);
    // A byte inside a value's hex text: the file still parses, only the checksum tells.
    const at = bytes.indexOf(Buffer.from(createHash('sha256').update('1000').digest('hex')));
    expect(at).toBeGreaterThan(0);
    bytes[at + 5] = bytes[at + 5] === 0x61 ? 0x62 : 0x61;
    writeFileSync(bad, bytes);
    await expect(checkRdb('redis-check-rdb', bad, signal)).rejects.toThrow(PermanentDriverError);
    await expect(checkRdb('redis-check-rdb', bad, signal)).rejects.toThrow(/Wrong RDB checksum|check-sum/);
  });

  it('refuses a truncated file', async () => {
    const cut = join(dir, 'cut.rdb');
    copyFileSync(rdb, cut);
    writeFileSync(cut, readFileSync(rdb).subarray(0, 4_000));
    await expect(checkRdb('redis-check-rdb', cut, signal)).rejects.toThrow(PermanentDriverError);
  });
});

describe('niceSha256', () => {
  const expected = (): string => createHash('sha256').update(readFileSync(rdb)).digest('hex');

  it('uses openssl first; sha256sum, then the in-process hash, where the ones before are missing; all agree', async () => {
    const size = readFileSync(rdb).length;
    expect(SHA256_TOOLS[0]!.binary).toBe('openssl');
    await expect(niceSha256(rdb, signal)).resolves.toEqual({ bytes: size, sha256: expected() });
    const missing = { binary: '/nonexistent/jcs-openssl', args: () => [], digest: /x/ };
    await expect(niceSha256(rdb, signal, [missing, SHA256_TOOLS[1]!])).resolves.toEqual({ bytes: size, sha256: expected() });
    await expect(niceSha256(rdb, signal, [missing])).resolves.toEqual({ bytes: size, sha256: expected() });
  });

  it('throws when the tool fails rather than falling back silently', async () => {
    await expect(niceSha256(join(dir, 'absent.rdb'), signal)).rejects.toThrow();
    const failing = { binary: 'sh', args: () => ['-c', 'echo broken >&2; exit 2'], digest: /x/ };
    await expect(niceSha256(rdb, signal, [failing])).rejects.toThrow(/sh failed.*broken/);
  });
});
