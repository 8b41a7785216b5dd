import { useEffect, useRef } from 'react';

/**
 * Calls `work` now and then `intervalMs` after each call finished, until the component unmounts or a
 * dependency changes. Live updates are polling only (no server-sent events), at a sane interval.
 */
export function usePoll(work: () => Promise<void>, intervalMs: number, deps: readonly unknown[]): void {
  const latest = useRef(work);
  latest.current = work;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async (): Promise<void> => {
      try {
        await latest.current();
      } finally {
        if (!stopped) timer = setTimeout(() => void tick(), intervalMs);
      }
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
}
