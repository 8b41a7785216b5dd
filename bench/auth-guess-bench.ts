/**
 * `node bin/run-ts.js bench/auth-guess-bench.ts`: how fast can a client guess an instance password?
 * Starts a redis-server whose `default` user has a hashed password exactly as the local driver
 * writes it (`user default on #<sha256> …`), then sends `AUTH default <wrong guess>` over raw
 * sockets (RESP written by hand, replies only counted, so the client is not the limit), without and
 * with pipelining. redis-benchmark cannot do this: it stops at the first error reply. Prints guesses
 * per second and how long an exhaustive search of JD's password space would take at the best rate
 * measured: 8 to 16 ASCII letters and digits with at least one letter and one digit.
 *
 * Settings: BENCH_AUTH_PORT (default 23950), BENCH_AUTH_SECONDS per run (default 3).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const PORT = Number(process.env.BENCH_AUTH_PORT ?? 23950);
const SECONDS = Number(process.env.BENCH_AUTH_SECONDS ?? 3);
const PASSWORD = 'Bench2Secret9';

/** Passwords of length `len` with only ASCII letters and digits and at least one of each. */
function spaceOfLength(len: number): bigint {
  return 62n ** BigInt(len) - 52n ** BigInt(len) - 10n ** BigInt(len);
}

function humanYears(seconds: number): string {
  const years = seconds / (365.25 * 24 * 3600);
  if (years < 1) return `${(seconds / 86400).toFixed(1)} days`;
  return years < 10_000 ? `${years.toFixed(0)} years` : `${years.toExponential(2)} years`;
}

/** `connections` sockets, each keeping `pipeline` AUTH guesses in flight, for SECONDS; returns guesses/s. */
async function guessRate(connections: number, pipeline: number): Promise<number> {
  const batch = Buffer.from(
    Array.from({ length: pipeline }, (_, i) => {
      const guess = `Guess${String(i).padStart(8, '0')}`;
      return `*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$${guess.length}\r\n${guess}\r\n`;
    }).join(''),
  );
  let answered = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from(
      { length: connections },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = connect(PORT, '127.0.0.1');
          let pending = 0;
          const send = (): void => {
            if (Date.now() >= deadline) {
              socket.end();
              resolve();
              return;
            }
            pending = pipeline;
            socket.write(batch);
          };
          socket.on('connect', send);
          socket.on('error', reject);
          socket.on('data', (chunk: Buffer) => {
            // Every reply is one line ("-WRONGPASS …\r\n"): count line ends.
            let n = 0;
            for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) n++;
            answered += n;
            pending -= n;
            if (pending === 0) send();
          });
        }),
    ),
  );
  return answered / ((Date.now() - started) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jcs-bench-auth-'));
  const sha = createHash('sha256').update(PASSWORD).digest('hex');
  writeFileSync(join(dir, 'users.acl'), `user default on #${sha} ~* &* +@all\n`);
  const server = spawn('redis-server', ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--aclfile', join(dir, 'users.acl')], {
    stdio: 'ignore',
  });
  try {
    await sleep(300);
    const rows: [string, number][] = [];
    for (const [connections, pipeline] of [
      [1, 1],
      [50, 1],
      [8, 64],
      [50, 64],
    ] as const) {
      rows.push([`${connections} connections, pipeline ${pipeline}`, await guessRate(connections, pipeline)]);
    }
    const best = Math.max(...rows.map(([, r]) => r));
    console.log('\nAUTH guesses against one redis-server (ACL default user, SHA-256 password), raw RESP client:');
    for (const [name, rps] of rows) console.log(`  ${name.padEnd(32)} ${rps.toFixed(0).padStart(10)} guesses/s`);
    const shortest = spaceOfLength(8);
    let all = 0n;
    for (let len = 8; len <= 16; len++) all += spaceOfLength(len);
    console.log(`\nJD's password space: ${Number(shortest).toExponential(2)} passwords of 8 characters, ${Number(all).toExponential(2)} of 8 to 16.`);
    console.log(`Exhaustive search at ${best.toFixed(0)} guesses/s: 8 characters ${humanYears(Number(shortest) / best)}; 8 to 16 ${humanYears(Number(all) / best)} (half that on average).`);
  } finally {
    server.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
