import { randomBytes } from 'node:crypto';
import type { Logger } from '@canopy/core';

/** The Redis commands the schedule uses (an ioredis connection). */
export interface ScheduleRedis {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<'OK' | null>;
  eval(script: string, numKeys: number, ...args: Array<string | number>): Promise<unknown>;
}

export interface RetentionScheduleDeps {
  redis: ScheduleRedis;
  logger: Logger;
  /** one retention run at `now`; `signal` aborts its waits at shutdown */
  run(now: Date, signal: AbortSignal): Promise<unknown>;
  clock?: () => Date;
}

export interface RetentionScheduleOptions {
  /** at most one run per this interval across every worker process */
  intervalMs: number;
  /** the Redis key that holds the claim on the current interval */
  lockKey: string;
  /** how often each process checks whether a run is due (default: the interval, at most 60 s) */
  checkEveryMs?: number;
  /** first check after start (default: checkEveryMs, at most 10 s) */
  firstCheckMs?: number;
  /** after a failed run, the next may start this much later (default: the interval, at most 5 min) */
  retryAfterFailureMs?: number;
  /** what the logs call the job (default `retention`); the schedule also runs other periodic jobs (pricing) */
  name?: string;
}

export interface RetentionSchedule {
  /** Stops checking, aborts the running run's waits and waits for it. Safe to call twice. */
  close(): Promise<void>;
}

/** Shortens the claim only while it is still ours, so a failed run is retried sooner. */
const SHORTEN_IF_OURS = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0`;

/**
 * Runs retention at most once per interval across all worker processes: each process
 * checks now and then, and the one whose `SET key NX PX interval` succeeds runs. The key
 * is left to expire rather than deleted, so it also spaces the runs: restarts or many
 * workers never make retention run more often, and a stopped fleet catches up on the
 * first check after it starts again.
 */
export function createRetentionSchedule(deps: RetentionScheduleDeps, options: RetentionScheduleOptions): RetentionSchedule {
  const { logger, redis } = deps;
  const clock = deps.clock ?? (() => new Date());
  const checkEveryMs = options.checkEveryMs ?? Math.min(options.intervalMs, 60_000);
  const retryAfterFailureMs = options.retryAfterFailureMs ?? Math.min(options.intervalMs, 300_000);
  const name = options.name ?? 'retention';
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  async function check(): Promise<void> {
    const token = randomBytes(12).toString('hex');
    let claimed: 'OK' | null;
    try {
      claimed = await redis.set(options.lockKey, token, 'PX', options.intervalMs, 'NX');
    } catch (err) {
      logger.warn({ err: (err as Error).message }, `${name}: cannot reach Redis to claim the run; trying again later`);
      return;
    }
    if (claimed !== 'OK' || abort.signal.aborted) return;
    try {
      await deps.run(clock(), abort.signal);
    } catch (err) {
      logger.error({ err, code: (err as { code?: unknown }).code }, `${name} run failed: ${(err as Error).message}`);
      await redis.eval(SHORTEN_IF_OURS, 1, options.lockKey, token, retryAfterFailureMs).catch(() => undefined);
    }
  }

  function schedule(ms: number): void {
    timer = setTimeout(() => {
      current = check().finally(() => {
        current = undefined;
        if (!abort.signal.aborted) schedule(checkEveryMs);
      });
    }, ms);
  }
  schedule(options.firstCheckMs ?? Math.min(checkEveryMs, 10_000));

  return {
    close: () =>
      (closing ??= (async () => {
        abort.abort();
        clearTimeout(timer);
        await current;
      })()),
  };
}
