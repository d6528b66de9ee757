import { useEffect, useState } from 'react';

/**
 * A counter that goes up every `intervalMs` while the tab is visible (and `enabled`), and
 * once more when a hidden tab comes back, so a page polls only while someone looks at it.
 */
export function useAutoRefresh(intervalMs: number, enabled: boolean): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = (): void => {
      if (timer === undefined) timer = setInterval(() => setTick((t) => t + 1), intervalMs);
    };
    const stop = (): void => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = (): void => {
      if (document.visibilityState === 'visible') {
        setTick((t) => t + 1);
        start();
      } else stop();
    };
    if (document.visibilityState === 'visible') start();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [intervalMs, enabled]);
  return tick;
}
