import { DelayedError, UnrecoverableError } from 'bullmq';
import { StorageError } from '@canopy/core';
import { describe, expect, it } from 'vitest';
import { mayBeStored, processSpanJob, type PendingBatch, type SpanProcessorDeps, type WriteOutcome } from '../src/index.js';
import { makeSpanBatch } from './helpers.js';

const tenant = { orgId: 'org_1', workspaceId: 'ws_1' };
const firstDelivery = { attemptsStarted: 1, attemptsMade: 0, stalledCounter: 0 };

/** A batcher that answers every submit with one outcome and records what it was given. */
function fakeBatcher(outcome: WriteOutcome): SpanProcessorDeps & { submitted: PendingBatch[] } {
  const submitted: PendingBatch[] = [];
  return {
    submitted,
    batcher: {
      pendingItems: 0,
      close: async () => undefined,
      submit: async (item) => (submitted.push(item), outcome),
    },
    unavailableDelayMs: () => 2_000,
  };
}

describe('processSpanJob', () => {
  it('fails a job whose data is not a span batch for good, without writing', async () => {
    const deps = fakeBatcher({ status: 'ok', alreadyStored: false });
    const err = await processSpanJob({ id: 'j1', data: { v: 2, rows: 'x' }, ...firstDelivery }, deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableError);
    expect((err as Error).message).toMatch(/j1 is not a span batch/);
    expect(deps.submitted).toEqual([]);
  });

  it('completes once the batch is written and reports whether it was already stored', async () => {
    const deps = fakeBatcher({ status: 'ok', alreadyStored: true });
    const batch = makeSpanBatch(tenant, { spans: 3 });
    expect(await processSpanJob({ data: batch, ...firstDelivery }, deps)).toEqual({ spans: 3, alreadyStored: true });
    expect(deps.submitted).toEqual([{ batch, mayBeStored: false }]);
  });

  it('throws the storage error of a rejected write so the job spends an attempt', async () => {
    const error = new StorageError('clickhouse_rejected', 'insert into spans failed');
    const deps = fakeBatcher({ status: 'rejected', error });
    const delays: number[] = [];
    const job = { data: makeSpanBatch(tenant, { spans: 1 }), ...firstDelivery, delay: async (until: number) => void delays.push(until) };
    await expect(processSpanJob(job, deps)).rejects.toBe(error);
    expect(delays).toEqual([]);
  });

  it('delays the job without spending an attempt while ClickHouse is unavailable', async () => {
    const deps = fakeBatcher({ status: 'retryable', error: new StorageError('clickhouse_unavailable', 'connect ECONNREFUSED') });
    const delays: number[] = [];
    const job = { data: makeSpanBatch(tenant, { spans: 1 }), ...firstDelivery, delay: async (until: number) => void delays.push(until) };
    const before = Date.now();
    await expect(processSpanJob(job, deps)).rejects.toBeInstanceOf(DelayedError);
    expect(delays).toHaveLength(1);
    expect(delays[0]! - before).toBeGreaterThanOrEqual(2_000);
  });
});

describe('mayBeStored', () => {
  it.each([
    [{ attemptsStarted: 1, attemptsMade: 0, stalledCounter: 0 }, false],
    [{ attemptsStarted: 2, attemptsMade: 0, stalledCounter: 0 }, true],
    [{ attemptsStarted: 1, attemptsMade: 1, stalledCounter: 0 }, true],
    [{ attemptsStarted: 1, attemptsMade: 0, stalledCounter: 1 }, true],
  ])('treats %o as possibly stored: %s', (delivery, expected) => {
    expect(mayBeStored({ data: null, ...delivery })).toBe(expected);
  });
});
