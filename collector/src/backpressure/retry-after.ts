/** Seconds for a Retry-After header. */
export type RetryAfter = () => number;

/**
 * Retry-After drawn uniformly from `minSeconds`…`maxSeconds` (whole seconds, as the
 * header carries them): clients refused in the same moment come back spread out
 * instead of all at once.
 */
export function createRetryAfter(options: { minSeconds: number; maxSeconds: number; random?: () => number }): RetryAfter {
  const min = Math.max(1, Math.floor(options.minSeconds));
  const max = Math.max(min, Math.floor(options.maxSeconds));
  const random = options.random ?? Math.random;
  return () => min + Math.floor(random() * (max - min + 1));
}
