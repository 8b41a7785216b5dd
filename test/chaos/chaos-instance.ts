import { createHash } from 'node:crypto';
import type { ChaosWriter } from './chaos-writer.ts';

/**
 * What the chaos run knows about one instance it created. Knowledge can be partial: a call whose
 * connection broke may or may not have been committed, so the run keeps every possibility and lets the
 * store (read after the run) say which one came true.
 */
export class ChaosInstance {
  /** Passwords the instance may have right now, newest first (one after an acknowledged reset). */
  possible: (string | null)[];
  /** Every password it ever may have had, newest first: the writer tries them all when reconnecting. */
  history: (string | null)[];
  deleted: 'no' | 'maybe' | 'yes' = 'no';
  /** Its keys are being read back before a delete: no fault is aimed at it meanwhile. */
  retiring = false;
  /** Acknowledged keys already read back (before a delete that was then refused, or at the end). */
  keysChecked = 0;
  writer: ChaosWriter | null = null;
  /** When a redis-server of this instance was SIGKILLed: writes acknowledged just before may be lost. */
  readonly kills: number[] = [];
  /**
   * Restores in place (chaos-backups.ts): writes acknowledged from the restored backup's request until the
   * restore ended (`to`: Infinity while it runs) may be gone. `restoreAt`: when the restore was asked for;
   * from then until `to` tenants are refused by design.
   */
  readonly restoreWindows: Array<{ from: number; to: number; restoreAt: number }> = [];

  constructor(
    readonly id: string,
    readonly name: string,
    readonly port: number,
    password: string | null,
    /** A native-cluster instance (`port` is shard 0's master); master-slave otherwise. */
    readonly cluster = false,
    /** A proxy cluster (`port` is its first proxy; chaos-proxy.ts). */
    readonly proxy = false,
  ) {
    this.possible = [password];
    this.history = [password];
  }

  /** A password reset was acknowledged (`certain`) or its outcome is unknown. */
  passwordReset(password: string | null, certain: boolean): void {
    this.possible = certain ? [password] : [password, ...this.possible.filter((p) => p !== password)];
    this.history = [password, ...this.history.filter((p) => p !== password)];
  }

  /** The possible password whose SHA-256 is `sha256` (null hash: password-free); undefined when none is. */
  passwordFor(sha256: string | null): string | null | undefined {
    if (sha256 === null) return this.possible.includes(null) ? null : undefined;
    return this.possible.find((p) => p !== null && createHash('sha256').update(p, 'utf8').digest('hex') === sha256);
  }

  /**
   * An acknowledged write must survive unless a process of the instance was killed within a second after
   * it, or a restore in place took the instance back to before it.
   */
  /**
   * A restore in place was open (asked for, not yet seen ended) at some time in [from, to]: the instance
   * refuses its tenants then by design, so a writer may see no write succeed. Excuses only a liveness
   * check ("a write within 30 s of a fault"); the data checks have their own rule (mustSurvive), and the
   * restore's own follow-up checks that the instance ends running with the backup's data.
   */
  restoreOpenWithin(from: number, to: number): boolean {
    return this.restoreWindows.some((w) => w.restoreAt <= to && w.to >= from);
  }

  mustSurvive(ackedAt: number): boolean {
    return !this.kills.some((k) => k >= ackedAt && k - ackedAt <= 1_000) && !this.restoreWindows.some((w) => ackedAt >= w.from && ackedAt <= w.to);
  }
}
