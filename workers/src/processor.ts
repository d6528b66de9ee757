import { DelayedError, UnrecoverableError } from 'bullmq';
import { spanBatchSchema } from '@canopy/core';
import type { Batcher } from './writer/batcher.js';
import type { PendingBatch, WriteOutcome } from './writer/write.js';

/** The parts of a BullMQ job the processor reads; plain objects in unit tests. */
export interface SpanJob {
  id?: string | undefined;
  data: unknown;
  /** times the job was moved to active, this delivery included */
  attemptsStarted: number;
  /** attempts that ended in failure */
  attemptsMade: number;
  /** times the job was found stalled (its worker died or froze) */
  stalledCounter: number;
  /** puts the job back until `untilMs` without counting an attempt (BullMQ moveToDelayed) */
  delay?: (untilMs: number) => Promise<void>;
}

export interface SpanProcessorDeps {
  batcher: Batcher<PendingBatch, WriteOutcome>;
  /** wait before the next try while ClickHouse is unavailable (grows with the outage) */
  unavailableDelayMs: () => number;
}

export interface SpanJobResult {
  spans: number;
  /** ClickHouse held the batch already; nothing was inserted */
  alreadyStored: boolean;
}

/**
 * Any earlier delivery may have inserted the rows before the job could be completed:
 * a failed attempt (the reply to a successful insert can be lost), a delivery that
 * stalled (the worker died after the insert), or one that started and never finished.
 */
export function mayBeStored(job: SpanJob): boolean {
  return job.attemptsStarted > 1 || job.stalledCounter > 0 || job.attemptsMade > 0;
}

/**
 * Writes one queued span batch. Resolves only after ClickHouse holds the rows. While
 * ClickHouse is unavailable the job is delayed without spending an attempt, so an outage
 * of any length loses nothing; a batch ClickHouse refuses spends attempts (and is kept as
 * failed after the last); data that is not a span batch is UnrecoverableError.
 */
export async function processSpanJob(job: SpanJob, deps: SpanProcessorDeps): Promise<SpanJobResult> {
  const parsed = spanBatchSchema.safeParse(job.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UnrecoverableError(`job ${job.id ?? '?'} is not a span batch: ${issues}`);
  }
  const outcome = await deps.batcher.submit({ batch: parsed.data, mayBeStored: mayBeStored(job) });
  if (outcome.status === 'retryable' && job.delay) {
    await job.delay(Date.now() + deps.unavailableDelayMs());
    throw new DelayedError();
  }
  if (outcome.status !== 'ok') throw outcome.error;
  return { spans: parsed.data.spanCount, alreadyStored: outcome.alreadyStored };
}
