/**
 * What automatic backups and automatic cache analyses have in common: once per item (an instance's
 * policy) and day, inside the item's daily window, a run is started by whichever turn claims that day in
 * the store first. Turns come from a timer in every service process and again after a restart, so the
 * claim (a unique index, a conditional update) is what makes a day's run happen once; the read of
 * `claimed` only spares most turns the write.
 */
export interface DailyWindowJob<T> {
  /** The items that have a window (the active policies). */
  items(): Promise<readonly T[]>;
  /** The day whose window is open at `nowMs` (the day it started on), or null when it is closed now. */
  openDay(item: T, nowMs: number): string | null;
  /** Whether the item's run of `day` is claimed already. */
  claimed(item: T, day: string): Promise<boolean>;
  /** Claims the day atomically and starts the run; what it started, or null when another turn had claimed it. */
  claimAndStart(item: T, day: string, nowMs: number): Promise<string | null>;
}

/** One pass over the items: starts each run due now and not yet claimed; returns what it started. */
export async function startDueRuns<T>(job: DailyWindowJob<T>, nowMs: number): Promise<string[]> {
  const started: string[] = [];
  for (const item of await job.items()) {
    const day = job.openDay(item, nowMs);
    if (day === null || (await job.claimed(item, day))) continue;
    const run = await job.claimAndStart(item, day, nowMs);
    if (run !== null) started.push(run);
  }
  return started;
}

/** A turn repeated by a timer, one at a time in this process: `tick` runs one now, after any under way. */
export interface PeriodicTurns {
  tick(): Promise<void>;
  /** Runs a turn now and then every `intervalMs`. */
  start(): void;
  /** Stops the timer and waits for the turn under way. */
  stop(): Promise<void>;
}

/**
 * Serialises `turn` behind a timer. A failed turn is reported and the next one tries again (a window is
 * at least a minute long and turns come every 30 s by default, so one failure loses no day).
 */
export function periodicTurns(turn: () => Promise<unknown>, o: { intervalMs: number; onError: (err: Error) => void }): PeriodicTurns {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const tick = (): Promise<void> => {
    running = running.then(turn).then(
      () => undefined,
      (err: unknown) => o.onError(err instanceof Error ? err : new Error(String(err))),
    );
    return running;
  };
  return {
    tick,
    start(): void {
      if (timer) return;
      timer = setInterval(() => void tick(), o.intervalMs);
      timer.unref();
      void tick();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
