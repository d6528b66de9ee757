/**
 * How late the event loop runs a timer, in ms: the time any new request (a health
 * check too) waits before the collector even looks at it. Exported as a metric, so
 * operators can see the decode queue keep it low. A tick that comes in late raises
 * the reading at once; good ticks bring it down by half each.
 */
export interface LoopDelay {
  readonly ms: number;
  stop(): void;
}

export function watchLoopDelay(tickMs = 50): LoopDelay {
  let expected = performance.now() + tickMs;
  let delay = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - expected);
    delay = late >= delay ? late : delay / 2;
    expected = now + tickMs;
  }, tickMs);
  timer.unref();
  return {
    get ms() {
      return delay;
    },
    stop: () => clearInterval(timer),
  };
}
