/**
 * Which of our nodes accept connections but do not answer, and since when: a redis-server frozen with
 * SIGSTOP, stuck in the kernel, or spinning. The kernel keeps accepting connections on a stopped
 * process's sockets, so "the socket is open" says nothing; only an answer does.
 *
 * A node that does not answer a PING within `PROBE_TIMEOUT_MS` gets a *watch*: that PING's connection
 * is kept open. Redis answers it (or closes it) as soon as its event loop turns again, so a watch still
 * silent now proves the node has not run since the watch began: silence is measured continuously, not
 * sampled. The driver fences a node (inspect-node.ts) once its watch has been silent for the bound.
 * Kept in memory: after a control-plane restart the measure starts again.
 */
import { connect, type Socket } from 'node:net';

/** How long a node on this host may take to answer before it is called silent (it answers in well under 1 ms). */
export const PROBE_TIMEOUT_MS = 1_000;
/** Default bound after which a silent node is fenced (`JCS_HUNG_NODE_MS`). */
export const DEFAULT_HUNG_NODE_MS = 5_000;

/** What a probe found. */
export type Liveness =
  | { kind: 'answers' }
  /** Nothing listens on the node's socket: the node is not running. */
  | { kind: 'absent' }
  /** It accepts but has not answered since `since` (ms since the epoch). */
  | { kind: 'silent'; since: number; silentMs: number };

type Outcome = 'pending' | 'answered' | 'absent';

/** One PING on a node's unix socket, unanswered so far. */
class Watch {
  outcome: Outcome = 'pending';
  private readonly socket: Socket;
  private readonly listeners = new Set<() => void>();

  constructor(
    path: string,
    /** From when the node is known not to have answered (the start of the read or PING that went unanswered). */
    readonly since: number,
  ) {
    this.socket = connect({ path });
    this.socket.once('connect', () => this.socket.write('PING\r\n'));
    // Any byte is an answer, -NOAUTH and -BUSY included: the event loop ran. A close without a byte is
    // counted as an end of silence too (the node accepted and dropped us, or died): the next probe tells.
    this.socket.once('data', () => this.end('answered'));
    this.socket.once('close', () => this.end('answered'));
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      // Refused or no socket file: no process listens. Anything else: ended, look again.
      this.end(err.code === 'ECONNREFUSED' || err.code === 'ENOENT' ? 'absent' : 'answered');
    });
  }

  /** Calls `fn` once when the watch ends (at once if it has). Returns a function that cancels it. */
  onEnd(fn: () => void): () => void {
    if (this.outcome !== 'pending') {
      fn();
      return () => undefined;
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  close(): void {
    this.socket.destroy();
  }

  private end(outcome: Exclude<Outcome, 'pending'>): void {
    if (this.outcome !== 'pending') return;
    this.outcome = outcome;
    this.socket.destroy();
    for (const fn of [...this.listeners]) fn();
    this.listeners.clear();
  }
}

/** Silent nodes of this driver, by node directory. */
export class HungNodes {
  private readonly watches = new Map<string, Watch>();

  constructor(
    /** Silence after which a node is fenced; 0: never fenced (reported only). */
    readonly boundMs: number,
    private readonly probeTimeoutMs = PROBE_TIMEOUT_MS,
  ) {}

  /**
   * Whether the node in `dir` answers: its standing watch when it has one (no wait), else a PING on
   * `socketPath` answered within the probe timeout. A PING left unanswered becomes the node's watch.
   */
  async probe(dir: string, socketPath: string): Promise<Liveness> {
    const standing = this.silence(dir);
    if (standing) return standing;
    const watch = new Watch(socketPath, Date.now());
    const outcome = await new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => resolve('pending'), this.probeTimeoutMs);
      watch.onEnd(() => {
        clearTimeout(timer);
        resolve(watch.outcome);
      });
    });
    if (outcome === 'absent') return { kind: 'absent' };
    if (outcome === 'answered') return { kind: 'answers' };
    this.keep(dir, watch);
    return this.silence(dir) ?? { kind: 'answers' };
  }

  /**
   * A read that started at `since` went unanswered: the node is silent from then on (watched from now,
   * unless a watch already runs). Returns the silence, or null when it ended meanwhile.
   */
  suspect(dir: string, socketPath: string, since: number): Extract<Liveness, { kind: 'silent' }> | null {
    if (!this.watches.has(dir)) this.keep(dir, new Watch(socketPath, since));
    return this.silence(dir);
  }

  /** The node's current silence, or null when it is not known to be silent. */
  silence(dir: string): Extract<Liveness, { kind: 'silent' }> | null {
    const watch = this.watches.get(dir);
    if (!watch || watch.outcome !== 'pending') return null;
    return { kind: 'silent', since: watch.since, silentMs: Date.now() - watch.since };
  }

  /**
   * Resolves `'hung'` once the node has been silent for the bound, or `'ended'` as soon as its silence
   * ends (it answered, closed our connection, or went away) or when it is not silent at all.
   */
  until(dir: string, signal: AbortSignal): Promise<'hung' | 'ended'> {
    const watch = this.watches.get(dir);
    if (!watch || watch.outcome !== 'pending') return Promise.resolve('ended');
    return new Promise((resolve, reject) => {
      const finish = (result: 'hung' | 'ended'): void => {
        clearTimeout(timer);
        cancel();
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = (): void => {
        clearTimeout(timer);
        cancel();
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => finish(watch.outcome === 'pending' ? 'hung' : 'ended'), Math.max(0, watch.since + this.boundMs - Date.now()));
      const cancel = watch.onEnd(() => finish('ended'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The node answered after all (a late reply to a read): it is not silent. */
  answered(dir: string): void {
    this.forget(dir);
  }

  /** Drops what is known about the node (it was fenced, or stopped on purpose). */
  forget(dir: string): void {
    this.watches.get(dir)?.close();
    this.watches.delete(dir);
  }

  /** Closes every watch (driver close). */
  closeAll(): void {
    for (const dir of [...this.watches.keys()]) this.forget(dir);
  }

  private keep(dir: string, watch: Watch): void {
    // Two probes of one node at once: the older watch (the earlier start) is the one kept.
    if (this.silence(dir)) {
      watch.close();
      return;
    }
    this.watches.set(dir, watch);
    watch.onEnd(() => {
      if (this.watches.get(dir) === watch) this.watches.delete(dir);
    });
  }
}
