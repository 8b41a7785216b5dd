import type { Logger } from '../../logger.ts';
import { claimAutoDay, pruneCacheAnalyses, scheduledAnalyses } from '../../store/cache-analysis-repo.ts';
import { getInstanceById } from '../../store/instances-repo.ts';
import type { Db } from '../../store/open-store.ts';
import { DomainError } from '../domain-error.ts';
import { periodicTurns, startDueRuns, type DailyWindowJob, type PeriodicTurns } from '../daily-window-turns.ts';
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
export function createAutoAnalysisScheduler(deps: AutoAnalysisDeps): PeriodicTurns {
  const { db, logger } = deps;
  type Schedule = Awaited<ReturnType<typeof scheduledAnalyses>>[number];
  const windowOf = (s: Schedule) => parseAnalysisTime('analysisTime', s.analysis_time);
  const daily: DailyWindowJob<Schedule> = {
    items: () => scheduledAnalyses(db),
    openDay: (s, nowMs) => {
      const window = windowOf(s);
      return window && inWindow(window, nowMs) ? windowDay(window, nowMs) : null;
    },
    claimed: async (s, day) => s.last_auto_day === day,
    claimAndStart: async (s, day) => {
      if (!(await claimAutoDay(db, s.instance_id, day))) return null;
      const instance = await getInstanceById(db, s.instance_id);
      if (!instance) return null;
      try {
        await deps.analyses.start(instance, JSON.parse(s.thresholds) as Thresholds, true);
        return s.instance_id;
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        logger.warn({ instanceId: s.instance_id, day, reason: err.message }, 'automatic cache analysis skipped today');
        return null;
      }
    },
  };

  return periodicTurns(
    async () => {
      const nowMs = deps.now().getTime();
      await startDueRuns(daily, nowMs);
      await pruneCacheAnalyses(db, nowMs - RESULT_DAYS * 86_400_000);
    },
    { intervalMs: deps.intervalMs ?? 30_000, onError: (err) => logger.error({ err: err.message }, 'automatic cache analysis check failed') },
  );
}
