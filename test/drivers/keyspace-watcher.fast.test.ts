// The file a keyspace watcher (redis-cli --csv psubscribe) writes, parsed back: every key byte-exact
// (quotes, newlines, non-ASCII bytes as redis-cli escapes them), the cut-over mark, partial last lines.
// The lines below are what redis-cli 7.0 printed for these writes (checked by hand against a real node).
import { mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARK_CHANNEL, parseWatchLine, readWatchFile } from '../../src/drivers/local/keyspace-watcher.ts';

const FILE = [
  'Reading messages... (press Ctrl-C to quit)',
  '"psubscribe","__keyspace@0__:*",1',
  `"psubscribe","${MARK_CHANNEL}",2`,
  '"pmessage","__keyspace@0__:*","__keyspace@0__:a\\nb\\"c","set"',
  '"pmessage","__keyspace@0__:*","__keyspace@0__:\\xff\\x01","set"',
  '"pmessage","__keyspace@0__:*","__keyspace@0__:plain:1","expire"',
  '"pmessage","__keyspace@0__:*","__keyspace@0__:plain:1","del"',
  `"pmessage","${MARK_CHANNEL}","${MARK_CHANNEL}","tok-1"`,
  '"pmessage","__keyspace@0__:*","__keyspace@0__:after\\\\mark","set"',
].join('\n');

describe('keyspace watcher file', () => {
  let dir = '';
  beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 'jcs-watch-'))));
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('parses keys byte-exact and the mark; banner and confirmations are nothing', () => {
    expect(parseWatchLine('Reading messages... (press Ctrl-C to quit)')).toBeNull();
    expect(parseWatchLine('"psubscribe","__keyspace@0__:*",1')).toBeNull();
    expect(parseWatchLine('"pmessage","__keyspace@0__:*","__keyspace@0__:a\\nb\\"c","set"')).toEqual({ key: Buffer.from('a\nb"c') });
    expect(parseWatchLine('"pmessage","__keyspace@0__:*","__keyspace@0__:\\xff\\x01\\t\\\\","set"')).toEqual({ key: Buffer.from([0xff, 0x01, 0x09, 0x5c]) });
    // A key that contains the prefix itself keeps it.
    expect(parseWatchLine('"pmessage","__keyspace@0__:*","__keyspace@0__:__keyspace@0__:x","set"')).toEqual({ key: Buffer.from('__keyspace@0__:x') });
    expect(parseWatchLine(`"pmessage","${MARK_CHANNEL}","${MARK_CHANNEL}","tok-1"`)).toEqual({ mark: 'tok-1' });
    // A tenant's own channel matching nothing we subscribed: ignored.
    expect(parseWatchLine('"pmessage","other","other","x"')).toBeNull();
  });

  it('reads whole lines from an offset, stops at the mark, and leaves a partial last line for later', async () => {
    const file = join(dir, 'w.csv');
    await writeFile(file, `${FILE}\n"pmessage","__keyspace@0__:*","__keyspace@0__:half`);
    const all = await readWatchFile(file, 0);
    expect([...all.keys].map((k) => Buffer.from(k, 'latin1'))).toEqual([Buffer.from('a\nb"c'), Buffer.from([0xff, 0x01]), Buffer.from('plain:1'), Buffer.from('after\\mark')]);
    expect(all.found).toBe(false);
    expect(all.offset).toBe(Buffer.byteLength(FILE) + 1);
    const toMark = await readWatchFile(file, 0, 'tok-1');
    expect(toMark.found).toBe(true);
    expect(toMark.keys.size).toBe(3);
    expect(toMark.offset).toBe(FILE.indexOf('"pmessage","__keyspace@0__:*","__keyspace@0__:after'));
    // The rest of the half line arrives: read on from where the last read stopped.
    await appendFile(file, ':x","set"\n');
    const rest = await readWatchFile(file, all.offset);
    expect([...rest.keys]).toEqual(['half:x']);
    // maxKeys stops early, after the line that reached it.
    const two = await readWatchFile(file, 0, null, 2);
    expect(two.keys.size).toBe(2);
    const on = await readWatchFile(file, two.offset);
    expect([...on.keys]).toEqual(['plain:1', 'after\\mark', 'half:x']);
  });
});
