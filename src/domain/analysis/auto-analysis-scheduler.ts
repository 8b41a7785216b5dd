import type { Logger } from '../../logger.ts';
import { claimAutoDay, pruneCacheAnalyses, scheduledAnalyses } from '../../store/cache-analysis-repo.ts';
import { getInstanceById } from '../../store/instances-repo.ts';
import type { Db } from '../../store/open-store.ts';
import { DomainError } from '../domain-error.ts';
import { inWindow, parseAnalysisTime, windowDay, type Thresholds } from './analysis-rules.ts';
import { RESULT_DAYS, type CacheAnalysisService } from './cache-analysis-service.ts';

export interface AutoAnalysisDeps {
  db: Db;
  analyses: Pick<CacheAnalysisService, 'start'>;
  logger: Logger;
  now: () => Date;
  /** How often windows are checked. Default 30 s (a window is at least a minute long). */
  intervalMs?: number;
}

/**
 * The daily automatic cache analysis (modifyAnalysisTime and its siblings): once per day and instance,
 * inside the instance's window, an analysis with its thresholds is started as an engine task. The day is
 * claimed in the store first (a conditional update), so two service processes, or a restart inside the
 * window, never start it twice. An instance that is not running in its window is skipped that day, with a
 * log line. Also forgets analyses older than RESULT_DAYS.
 */
export function createAutoAnalysisScheduler(deps: AutoAnalysisDeps) {
  const { db, logger } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();

  async function check(): Promise<void> {
    const nowMs = deps.now().getTime();
    for (const s of await scheduledAnalyses(db)) {
      const window = parseAnalysisTime('analysisTime', s.analysis_time);
      if (!window || !inWindow(window, nowMs)) continue;
      const day = windowDay(window, nowMs);
      if (s.last_auto_day === day || !(await claimAutoDay(db, s.instance_id, day))) continue;
      const instance = await getInstanceById(db, s.instance_id);
      if (!instance) continue;
      try {
        await deps.analyses.start(instance, JSON.parse(s.thresholds) as Thresholds, true);
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        logger.warn({ instanceId: s.instance_id, day, reason: err.message }, 'automatic cache analysis skipped today');
      }
    }
    await pruneCacheAnalyses(db, nowMs - RESULT_DAYS * 86_400_000);
  }

  /** Checks now (after any check under way); failures are logged, the next check tries again. */
  function tick(): Promise<void> {
    running = running.then(check).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'automatic cache analysis check failed'));
    return running;
  }

  return {
    tick,
    start(): void {
      timer ??= setInterval(() => void tick(), deps.intervalMs ?? 30_000);
      void tick();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
