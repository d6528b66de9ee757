/**
 * Failed authentications per client IP, in memory. A client that fails `maxPerMinute`
 * times within a minute is refused (429) until that minute is over, without its key
 * being looked up, so nobody can try keys quickly or make every guess a Postgres query.
 */
export interface AuthFailureLimiter {
  /** Seconds until `client` may try again; 0 when it is not blocked. */
  blockedForSeconds(client: string): number;
  recordFailure(client: string): void;
  /** clients tracked right now (bounded by `maxClients`) */
  readonly size: number;
}

export interface AuthFailureLimiterOptions {
  /** failures allowed per client per minute; 0 turns the limiter off */
  maxPerMinute: number;
  /** most clients tracked at once; the oldest entry goes first (default 10 000) */
  maxClients?: number;
  now?: () => number;
}

const WINDOW_MS = 60_000;

interface Window {
  startedAt: number;
  failures: number;
}

export function createAuthFailureLimiter(options: AuthFailureLimiterOptions): AuthFailureLimiter {
  const now = options.now ?? Date.now;
  const maxClients = options.maxClients ?? 10_000;
  const windows = new Map<string, Window>();

  const current = (client: string, t: number): Window | undefined => {
    const w = windows.get(client);
    if (w && t - w.startedAt >= WINDOW_MS) {
      windows.delete(client);
      return undefined;
    }
    return w;
  };

  return {
    get size() {
      return windows.size;
    },
    blockedForSeconds(client) {
      if (options.maxPerMinute <= 0) return 0;
      const t = now();
      const w = current(client, t);
      if (!w || w.failures < options.maxPerMinute) return 0;
      return Math.max(1, Math.ceil((w.startedAt + WINDOW_MS - t) / 1000));
    },
    recordFailure(client) {
      if (options.maxPerMinute <= 0) return;
      const t = now();
      const w = current(client, t);
      if (w) {
        w.failures++;
        return;
      }
      // Map order is insertion order: the first entries are the oldest windows.
      while (windows.size >= maxClients) {
        const oldest = windows.keys().next();
        if (oldest.done) break;
        windows.delete(oldest.value);
      }
      windows.set(client, { startedAt: t, failures: 1 });
    },
  };
}
