import { describe, expect, it } from 'vitest';
import { createAuthFailureLimiter } from '../src/auth/failures.js';
import { createCpuQueue } from '../src/backpressure/cpu-queue.js';
import { createInflightBytes } from '../src/backpressure/inflight.js';
import { createRetryAfter } from '../src/backpressure/retry-after.js';

describe('failed-authentication limiter', () => {
  it('blocks a client for the rest of its minute once it reaches the limit', () => {
    let now = 1_000_000;
    const limiter = createAuthFailureLimiter({ maxPerMinute: 3, now: () => now });
    for (let i = 0; i < 2; i++) limiter.recordFailure('a');
    expect(limiter.blockedForSeconds('a')).toBe(0);
    limiter.recordFailure('a');
    expect(limiter.blockedForSeconds('a')).toBe(60);
    now += 45_500;
    expect(limiter.blockedForSeconds('a')).toBe(15);
    expect(limiter.blockedForSeconds('b')).toBe(0);
    now += 14_500;
    expect(limiter.blockedForSeconds('a')).toBe(0);
    limiter.recordFailure('a');
    expect(limiter.blockedForSeconds('a')).toBe(0); // a new minute, one failure
  });

  it('tracks at most maxClients, forgetting the oldest first', () => {
    const limiter = createAuthFailureLimiter({ maxPerMinute: 1, maxClients: 100 });
    for (let i = 0; i < 1_000; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`);
    expect(limiter.size).toBe(100);
    expect(limiter.blockedForSeconds('10.0.3.231')).toBeGreaterThan(0); // the newest are kept
    expect(limiter.blockedForSeconds('10.0.0.0')).toBe(0);
  });

  it('is off at 0', () => {
    const limiter = createAuthFailureLimiter({ maxPerMinute: 0 });
    for (let i = 0; i < 100; i++) limiter.recordFailure('a');
    expect(limiter.blockedForSeconds('a')).toBe(0);
    expect(limiter.size).toBe(0);
  });
});

describe('Retry-After', () => {
  it('draws whole seconds from 1 to the maximum, spread over the range', () => {
    const retryAfter = createRetryAfter({ minSeconds: 1, maxSeconds: 5 });
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const s = retryAfter();
      expect(Number.isInteger(s) && s >= 1 && s <= 5).toBe(true);
      seen.add(s);
    }
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(createRetryAfter({ minSeconds: 0, maxSeconds: 0 })()).toBe(1);
  });
});

describe('in-flight bytes', () => {
  it('charges accounts against one budget and gives everything back on release', () => {
    const budget = createInflightBytes(100);
    const a = budget.open();
    const b = budget.open();
    expect(a.charge(60)).toBe(true);
    expect(budget.fits(40)).toBe(true);
    expect(budget.fits(41)).toBe(false);
    expect(b.charge(50)).toBe(false); // refused, nothing charged
    expect(budget.used).toBe(60);
    expect(b.charge(40)).toBe(true);
    a.release();
    a.release();
    expect(budget.used).toBe(40);
    b.release();
    expect(budget.used).toBe(0);
  });

  it('lets one request alone take more than the whole budget, and nobody beside it', () => {
    const budget = createInflightBytes(100);
    const big = budget.open();
    expect(big.charge(40)).toBe(true);
    expect(big.recharge(250)).toBe(true); // alone: its batch may outgrow the budget
    expect(budget.fits(1)).toBe(false);
    expect(budget.open().charge(1)).toBe(false);
    big.release();
    const a = budget.open();
    expect(a.charge(10)).toBe(true);
    expect(budget.open().recharge(250)).toBe(false); // not alone
  });
});

describe('decode queue', () => {
  it('runs one job per event-loop turn, in order, with other callbacks in between', async () => {
    const queue = createCpuQueue();
    const order: string[] = [];
    const jobs = [1, 2, 3].map((i) => queue.run(() => (order.push(`job ${i}`), i)));
    expect(queue.length).toBe(3);
    setImmediate(() => order.push('other'));
    expect(await Promise.all(jobs)).toEqual([1, 2, 3]);
    expect(order).toEqual(['job 1', 'other', 'job 2', 'job 3']);
    expect(queue.length).toBe(0);
    expect(queue.waitMs).toBe(0);
  });

  it('rejects the promise of a job that throws and goes on with the next', async () => {
    const queue = createCpuQueue();
    const failing = queue.run(() => {
      throw new Error('bad body');
    });
    const next = queue.run(() => 'fine');
    await expect(failing).rejects.toThrow('bad body');
    expect(await next).toBe('fine');
  });

  it('estimates the wait as jobs waiting times their recent run time', async () => {
    const queue = createCpuQueue();
    const busy = (ms: number) => () => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    await Promise.all(Array.from({ length: 10 }, () => queue.run(busy(20))));
    const pending = Array.from({ length: 5 }, () => queue.run(busy(1)));
    expect(queue.waitMs).toBeGreaterThan(5 * 10);
    await Promise.all(pending);
  });
});
