import { DelayedError, UnrecoverableError } from 'bullmq';
import { StorageError } from '@canopy/core';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_RETRY_MS, SETTLE_RETRY_MS, isLastAttempt, mayBeStored, processSpanJob, type DeadLetterEntry, type DeadLetterResult, type DeadLetterSink, type PendingBatch, type SpanProcessorDeps, type WriteOutcome } from '../src/index.js';
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

  it('delays a stored job whose ledger settle failed (queue_unavailable) without spending an attempt, for SETTLE_RETRY_MS', async () => {
    const deps = { ...fakeBatcher({ status: 'retryable', error: new StorageError('queue_unavailable', 'batch is stored but cannot be settled') }), unavailableDelayMs: () => 1 };
    const delays: number[] = [];
    const job = { data: makeSpanBatch(tenant, { spans: 1 }), attemptsStarted: 1, attemptsMade: 0, stalledCounter: 0, attempts: 1, delay: async (until: number) => void delays.push(until) };
    const before = Date.now();
    await expect(processSpanJob(job, { ...deps, deadLetters: fakeSink() })).rejects.toBeInstanceOf(DelayedError);
    expect(delays).toHaveLength(1);
    expect(delays[0]! - before).toBeGreaterThanOrEqual(SETTLE_RETRY_MS);
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

/** A dead-letter sink that records what it is handed and answers `result`, or fails with `error`. */
function fakeSink(error?: Error, result: DeadLetterResult = 'kept'): DeadLetterSink & { kept: DeadLetterEntry[] } {
  const kept: DeadLetterEntry[] = [];
  return {
    kept,
    keep: async (entry) => {
      if (error) throw error;
      kept.push(entry);
      return result;
    },
  };
}

describe('processSpanJob on a refused batch', () => {
  const refused = new StorageError('clickhouse_rejected', 'insert into spans failed: Code: 395');
  const delivery = (attemptsMade: number, attempts: number) => ({ attemptsStarted: attemptsMade + 1, attemptsMade, stalledCounter: 0, attempts });

  it('keeps the batch as a dead letter on its last attempt and completes the job', async () => {
    const sink = fakeSink();
    const batch = makeSpanBatch(tenant, { spans: 4 });
    const result = await processSpanJob({ data: batch, ...delivery(2, 3) }, { ...fakeBatcher({ status: 'rejected', error: refused }), deadLetters: sink });
    expect(result).toEqual({ spans: 4, alreadyStored: false, deadLetter: 'kept' });
    expect(sink.kept).toEqual([{ batch, attempts: 3, error: { code: 'clickhouse_rejected', message: refused.message }, jobId: batch.batchId }]);
  });

  it("hands the sink the job's id, so a stale job cannot reopen a replayed dead letter", async () => {
    const sink = fakeSink(undefined, 'superseded');
    const batch = makeSpanBatch(tenant, { spans: 1 });
    const result = await processSpanJob({ id: `${batch.batchId}-replay-2`, data: batch, ...delivery(2, 3) }, { ...fakeBatcher({ status: 'rejected', error: refused }), deadLetters: sink });
    expect(result).toEqual({ spans: 1, alreadyStored: false, deadLetter: 'superseded' });
    expect(sink.kept.map((e) => e.jobId)).toEqual([`${batch.batchId}-replay-2`]);
  });

  it('completes the job as already stored when the sink finds ClickHouse holding the batch', async () => {
    const result = await processSpanJob({ data: makeSpanBatch(tenant, { spans: 2 }), ...delivery(2, 3) }, { ...fakeBatcher({ status: 'rejected', error: refused }), deadLetters: fakeSink(undefined, 'stored') });
    expect(result).toEqual({ spans: 2, alreadyStored: true });
  });

  it('never keeps a batch that a stalled redelivery of the last attempt finds stored', async () => {
    const sink = fakeSink();
    const deps = fakeBatcher({ status: 'ok', alreadyStored: true });
    const stalled = { attemptsStarted: 3, attemptsMade: 2, stalledCounter: 1, attempts: 3 };
    const batch = makeSpanBatch(tenant, { spans: 1 });
    expect(isLastAttempt(stalled)).toBe(true);
    expect(await processSpanJob({ data: batch, ...stalled }, { ...deps, deadLetters: sink })).toEqual({ spans: 1, alreadyStored: true });
    expect(deps.submitted).toEqual([{ batch, mayBeStored: true }]);
    expect(sink.kept).toEqual([]);
  });

  it('spends an attempt (throws) when attempts are left, keeping nothing', async () => {
    const sink = fakeSink();
    const job = { data: makeSpanBatch(tenant, { spans: 1 }), ...delivery(1, 3) };
    await expect(processSpanJob(job, { ...fakeBatcher({ status: 'rejected', error: refused }), deadLetters: sink })).rejects.toBe(refused);
    expect(sink.kept).toEqual([]);
  });

  it('with a single attempt, keeps the batch at once', async () => {
    const sink = fakeSink();
    await processSpanJob({ data: makeSpanBatch(tenant, { spans: 1 }), ...delivery(0, 1) }, { ...fakeBatcher({ status: 'rejected', error: refused }), deadLetters: sink });
    expect(sink.kept).toHaveLength(1);
  });

  it('never keeps a batch that was stored or whose ClickHouse was only unavailable', async () => {
    const sink = fakeSink();
    const last = delivery(2, 3);
    await processSpanJob({ data: makeSpanBatch(tenant, { spans: 1 }), ...last }, { ...fakeBatcher({ status: 'ok', alreadyStored: false }), deadLetters: sink });
    const unavailable = fakeBatcher({ status: 'retryable', error: new StorageError('clickhouse_unavailable', 'down') });
    const job = { data: makeSpanBatch(tenant, { spans: 1 }), ...last, delay: async () => undefined };
    await expect(processSpanJob(job, { ...unavailable, deadLetters: sink })).rejects.toBeInstanceOf(DelayedError);
    expect(sink.kept).toEqual([]);
  });

  it('puts the job back without spending an attempt while the dead letter cannot be written', async () => {
    for (const code of ['postgres_unavailable', 'queue_unavailable', 'clickhouse_unavailable'] as const) {
      const sink = fakeSink(new StorageError(code, 'connect ECONNREFUSED'));
      const delays: number[] = [];
      const job = { data: makeSpanBatch(tenant, { spans: 1 }), ...delivery(2, 3), delay: async (until: number) => void delays.push(until) };
      const before = Date.now();
      await expect(processSpanJob(job, { ...fakeBatcher({ status: 'rejected', error: refused }), deadLetters: sink })).rejects.toBeInstanceOf(DelayedError);
      expect(delays).toHaveLength(1);
      expect(delays[0]! - before).toBeGreaterThanOrEqual(DEAD_LETTER_RETRY_MS);
    }
  });

  it('fails the job (BullMQ keeps it as failed) when the dead letter is refused for good', async () => {
    const bug = Object.assign(new Error('unsupported Unicode escape sequence'), { code: '22P05' });
    const delays: number[] = [];
    const job = { data: makeSpanBatch(tenant, { spans: 1 }), ...delivery(2, 3), delay: async (until: number) => void delays.push(until) };
    await expect(processSpanJob(job, { ...fakeBatcher({ status: 'rejected', error: refused }), deadLetters: fakeSink(bug) })).rejects.toBe(bug);
    expect(delays).toEqual([]);
  });

  it('without a dead-letter sink, fails the last attempt as before', async () => {
    await expect(processSpanJob({ data: makeSpanBatch(tenant, { spans: 1 }), ...delivery(2, 3) }, fakeBatcher({ status: 'rejected', error: refused }))).rejects.toBe(refused);
  });
});

describe('isLastAttempt', () => {
  it.each([
    [{ attemptsMade: 0, attempts: 1 }, true],
    [{ attemptsMade: 0, attempts: 2 }, false],
    [{ attemptsMade: 1, attempts: 2 }, true],
    [{ attemptsMade: 38, attempts: 40 }, false],
    [{ attemptsMade: 39, attempts: 40 }, true],
    [{ attemptsMade: 0 }, true],
  ])('%o: %s', (job, expected) => {
    expect(isLastAttempt(job)).toBe(expected);
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

  it('treats a replayed dead letter as possibly stored from its first delivery', () => {
    expect(mayBeStored({ id: 'batch_ab12-replay-1', data: null, attemptsStarted: 1, attemptsMade: 0, stalledCounter: 0 })).toBe(true);
    expect(mayBeStored({ id: 'batch_ab12', data: null, attemptsStarted: 1, attemptsMade: 0, stalledCounter: 0 })).toBe(false);
  });
});
