/**
 * The attacker of api-flood.test.ts, as its own process (it needs more descriptors than the test
 * runner has: the test starts it under `prlimit --nofile=…`). Keeps `target` idle TCP connections
 * open to 127.0.0.1:`port`, spread round-robin over source addresses 127.0.0.<first>..<last>, sends
 * nothing on them, and opens a new one whenever one is closed, like an attacker holding sockets would.
 * Prints one JSON line of figures every 500 ms; stops on SIGTERM or after `maxSeconds`.
 *
 * Usage: node bin/run-ts.js test/security/idle-flood.ts <port> <target> <first> <last> <maxSeconds>
 */
import { connect, type Socket } from 'node:net';

const [port, target, first, last, maxSeconds] = process.argv.slice(2).map(Number) as [number, number, number, number, number];
const sources = Array.from({ length: last - first + 1 }, (_, i) => `127.0.0.${first + i}`);
/** Connection attempts in progress at once. */
const CONNECTING_AT_ONCE = 256;

let open = 0;
let connecting = 0;
let attempts = 0;
let closed = 0;
let failed = 0;
let next = 0;
let stopping = false;
const sockets = new Set<Socket>();

function openOne(): void {
  attempts++;
  connecting++;
  let connected = false;
  const socket = connect({ port, host: '127.0.0.1', localAddress: sources[next++ % sources.length] });
  sockets.add(socket);
  socket.on('connect', () => {
    connected = true;
    connecting--;
    open++;
    pump();
  });
  socket.on('error', () => {
    if (!connected) failed++;
  });
  // Sends nothing; reads (and drops) what comes, so a close by the server is noticed at once.
  socket.resume();
  socket.on('close', () => {
    sockets.delete(socket);
    if (connected) {
      open--;
      closed++;
    } else {
      connecting--;
    }
    if (!stopping) setImmediate(pump);
  });
}

function pump(): void {
  while (!stopping && open + connecting < target && connecting < CONNECTING_AT_ONCE) openOne();
}

function report(): void {
  process.stdout.write(`${JSON.stringify({ open, connecting, attempts, closed, failed })}\n`);
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  report();
  for (const s of sockets) s.destroy();
  setTimeout(() => process.exit(0), 200);
}

setInterval(report, 500);
setTimeout(stop, maxSeconds * 1000);
process.on('SIGTERM', stop);
pump();
