/**
 * A record of every key written on a node, kept outside the control plane: a detached `redis-cli`
 * subscribed to the node's keyspace notifications (`__keyspace@0__:*`) appends one CSV line per event to a
 * file in the instance directory. It outlives a control plane killed with SIGKILL, so a type change resumed
 * by the next process still knows every key written since its copy began (cluster-retype.ts).
 *
 * The watcher also subscribes to MARK_CHANNEL: a token published there (in the same MULTI as the cut-over's
 * CLIENT PAUSE WRITE) lands in the file after the notification of every write acknowledged before it, so
 * reading up to the token reads every key written before the pause.
 *
 * redis-cli prints with `fflush` after each message and exits when its connection closes (the node stopped,
 * or the server dropped a watcher that fell behind its output-buffer limit): a dead watcher means events
 * may be missing, and its caller starts over. The password goes through REDISCLI_AUTH, never argv.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ADMIN_USER } from './acl-rules.ts';

export const MARK_CHANNEL = 'jcs-retype-mark';
const KEYSPACE_PATTERN = '__keyspace@0__:*';
const KEYSPACE_PREFIX = '__keyspace@0__:';
/** How long a new watcher may take to confirm both subscriptions. */
const START_MS = 5_000;
const POLL_MS = 5;

export interface WatcherTarget {
  /** The node's unix socket (the admin user connects through it). */
  socket: string;
  /** The file the watcher appends to (created empty, 0600). */
  file: string;
  /** Working directory: the instance's, so whoever sweeps processes under it finds the watcher. */
  cwd: string;
}

/** redis-cli next to `redisServer` when there is one, else on PATH. */
export function redisCliFor(redisServer: string): string {
  if (!redisServer.includes('/')) return 'redis-cli';
  const sibling = join(dirname(redisServer), 'redis-cli');
  return existsSync(sibling) ? sibling : 'redis-cli';
}

function argvOf(t: WatcherTarget): string[] {
  return ['-s', t.socket, '--user', ADMIN_USER, '--csv', 'psubscribe', KEYSPACE_PATTERN, MARK_CHANNEL];
}

/**
 * Starts a watcher on `t.socket` writing to `t.file` (emptied first) and waits until both subscriptions are
 * confirmed in the file: from then on, every write on the node is recorded. Returns its pid.
 */
export async function startWatcher(redisCli: string, t: WatcherTarget, adminPassword: string, signal: AbortSignal): Promise<number> {
  // Emptied, then appended to (O_APPEND): a watcher of an earlier copy that is still exiting cannot write
  // into the middle of this one's lines.
  await writeFile(t.file, '', { mode: 0o600 });
  const out = await open(t.file, 'a', 0o600);
  let pid: number | undefined;
  let exited: string | null = null;
  try {
    const child = spawn(redisCli, argvOf(t), { detached: true, stdio: ['ignore', out.fd, 'ignore'], cwd: t.cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', REDISCLI_AUTH: adminPassword } });
    child.unref();
    child.once('error', (err) => (exited = `could not start: ${err.message}`));
    child.once('exit', (code, sig) => (exited = `exited with ${sig ?? `code ${code}`}`));
    pid = child.pid;
  } finally {
    await out.close();
  }
  const deadline = Date.now() + START_MS;
  for (;;) {
    if (exited !== null) throw new Error(`keyspace watcher on ${t.socket} ${exited as string}`);
    const text = await readFile(t.file, 'latin1').catch(() => '');
    if (text.includes(`"psubscribe","${MARK_CHANNEL}",2`)) return pid!;
    if (Date.now() > deadline) {
      if (pid !== undefined) stopWatcher(pid);
      throw new Error(`keyspace watcher on ${t.socket} did not subscribe in time`);
    }
    await sleep(POLL_MS, undefined, { signal });
  }
}

/** Whether `pid` is still the watcher of `t` (its command line and its stdout; a zombie has neither). */
export async function watcherAlive(pid: number, t: WatcherTarget): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
  const args = cmdline.split('\0').slice(1, -1);
  if (args.join('\0') !== argvOf(t).join('\0')) return false;
  return (await readlink(`/proc/${pid}/fd/1`).catch(() => null)) === t.file;
}

/**
 * Ends every watcher of `t.socket` (also one a control plane killed before it recorded its pid started):
 * they are found by their command line, which names the node's socket.
 */
export async function stopWatchers(t: WatcherTarget): Promise<void> {
  const want = argvOf(t).join('\0');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'latin1').catch(() => '');
    if (cmdline.split('\0').slice(1, -1).join('\0') === want) found.push(Number(entry));
  }
  // Gone before this returns (SIGKILL after a second): the caller may empty the file next.
  for (const pid of found) {
    stopWatcher(pid);
    for (let i = 0; i < 200 && (await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '')) !== ''; i++) {
      if (i === 100) stopWatcher(pid, 'SIGKILL');
      await sleep(POLL_MS * 2);
    }
  }
}

/** Ends a watcher (the caller checked it is ours). */
export function stopWatcher(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** Undoes redis-cli's CSV quoting (sdscatrepr): `\\ \" \n \r \t \a \b \xHH`, anything else literal. */
function unquote(s: string, from: number): { bytes: Buffer; end: number } | null {
  if (s[from] !== '"') return null;
  const out: number[] = [];
  for (let i = from + 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return { bytes: Buffer.from(out), end: i + 1 };
    if (c !== 0x5c) {
      out.push(c & 0xff);
      continue;
    }
    const e = s[++i];
    if (e === 'x') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push({ n: 10, r: 13, t: 9, a: 7, b: 8 }[e as 'n'] ?? (e ?? '').charCodeAt(0));
  }
  return null;
}

/** One line of a watcher's file: a key written, a mark published, or nothing of interest (banner, confirmations). */
export type WatchLine = { key: Buffer } | { mark: string } | null;

export function parseWatchLine(line: string): WatchLine {
  const fields: Buffer[] = [];
  for (let i = 0; i < line.length; ) {
    const f = unquote(line, i);
    if (f === null) return null;
    fields.push(f.bytes);
    i = f.end + 1; // past the comma
  }
  if (fields.length !== 4 || fields[0]!.toString() !== 'pmessage') return null;
  const [, pattern, channel, message] = fields as [Buffer, Buffer, Buffer, Buffer];
  if (pattern.toString() === MARK_CHANNEL) return { mark: message.toString('latin1') };
  if (pattern.toString() !== KEYSPACE_PATTERN) return null;
  return { key: channel.subarray(Buffer.byteLength(KEYSPACE_PREFIX)) };
}

/** What reading a watcher's file from an offset found. */
export interface WatchRead {
  /** Keys written (latin1: byte-exact), deduplicated. */
  keys: Set<string>;
  /** Offset after the last whole line read (or after the mark, when `until` was found). */
  offset: number;
  /** Whether the line publishing `until` was read. */
  found: boolean;
}

const CHUNK = 4 * 1024 * 1024;

/**
 * Reads whole lines of `file` from `offset` to its end, or up to and including the mark `until` (then
 * `found`). At most `maxKeys` keys are collected (the offset stops after the line that reached it).
 */
export async function readWatchFile(file: string, offset: number, until: string | null = null, maxKeys = Infinity): Promise<WatchRead> {
  const keys = new Set<string>();
  const fh = await open(file, 'r');
  try {
    let buf = Buffer.alloc(CHUNK);
    let pos = offset;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      const chunk = buf.subarray(0, bytesRead);
      const last = chunk.lastIndexOf(10);
      if (last < 0 && bytesRead === buf.length) {
        buf = Buffer.alloc(buf.length * 2); // a line longer than the buffer (a very long key)
        continue;
      }
      if (last < 0) return { keys, offset: pos, found: false };
      let start = 0;
      while (start <= last) {
        const nl = chunk.indexOf(10, start);
        const parsed = parseWatchLine(chunk.toString('latin1', start, nl));
        start = nl + 1;
        if (parsed && 'key' in parsed) keys.add(parsed.key.toString('latin1'));
        else if (parsed && until !== null && parsed.mark === until) return { keys, offset: pos + start, found: true };
        if (keys.size >= maxKeys) return { keys, offset: pos + start, found: false };
      }
      pos += last + 1;
    }
  } finally {
    await fh.close();
  }
}
