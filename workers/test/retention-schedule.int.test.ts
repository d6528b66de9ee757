import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedis, loadConfig } from '@canopy/core';
import { waitFor } from '@canopy/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetentionSchedule, type RetentionSchedule } from '../src/index.js';
import { quietLogger } from './helpers.js';

// The schedule against the real Redis; the run itself is a stand-in that records its calls.
let redis: Redis;
const keys: string[] = [];
const schedules: RetentionSchedule[] = [];
const newKey = (): string => {
  const key = `canopy_test_retention_${randomBytes(6).toString('hex')}`;
  keys.push(key);
  return key;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  redis = createRedis(loadConfig(process.env).redis.url);
});
afterAll(async () => {
  await Promise.all(schedules.map((s) => s.close()));
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('retention schedule', () => {
  it('runs once per interval across several worker processes sharing Redis', async () => {
    const lockKey = newKey();
    const runs: Array<{ worker: number; at: number }> = [];
    for (const worker of [1, 2, 3]) {
      schedules.push(
        createRetentionSchedule(
          { redis, logger: quietLogger(), run: async () => void runs.push({ worker, at: Date.now() }) },
          { intervalMs: 1_500, lockKey, checkEveryMs: 50, firstCheckMs: 0 },
        ),
      );
    }
    await waitFor(async () => runs.length >= 2, { timeoutMs: 10_000, what: 'a second run' });
    await sleep(700); // well inside the second interval: no third run, whoever checks
    await Promise.all(schedules.splice(0).map((s) => s.close()));
    expect(runs).toHaveLength(2);
    expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(1_450);
  });

  it('retries a failed run after the shorter failure delay instead of a whole interval', async () => {
    let calls = 0;
    const schedule = createRetentionSchedule(
      {
        redis,
        logger: quietLogger(),
        run: async () => {
          if (++calls === 1) throw new Error('ClickHouse is down');
        },
      },
      { intervalMs: 60_000, lockKey: newKey(), checkEveryMs: 50, firstCheckMs: 0, retryAfterFailureMs: 300 },
    );
    schedules.push(schedule);
    await waitFor(async () => calls >= 2, { timeoutMs: 3_000, what: 'a second run after the failure' });
    await sleep(500);
    expect(calls).toBe(2); // after the success the claim holds for the full interval
    await schedule.close();
  });

  it('hands the clock to the run and aborts its waits on close', async () => {
    const started: Date[] = [];
    let aborted = false;
    const schedule = createRetentionSchedule(
      {
        redis,
        logger: quietLogger(),
        clock: () => new Date('2030-01-01T00:00:00Z'),
        run: (now, signal) =>
          new Promise<void>((resolve) => {
            started.push(now);
            signal.addEventListener('abort', () => {
              aborted = true;
              resolve();
            });
          }),
      },
      { intervalMs: 60_000, lockKey: newKey(), firstCheckMs: 0 },
    );
    await waitFor(async () => started.length === 1, { timeoutMs: 3_000, what: 'the run to start' });
    await schedule.close();
    expect(aborted).toBe(true);
    expect(started).toEqual([new Date('2030-01-01T00:00:00Z')]);
  });
});
