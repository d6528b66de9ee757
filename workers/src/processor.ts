import { UnrecoverableError } from 'bullmq';
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
}

export interface SpanProcessorDeps {
  batcher: Batcher<PendingBatch, WriteOutcome>;
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
 * Writes one queued span batch. Resolves only after ClickHouse holds the rows; throws
 * so BullMQ retries when ClickHouse is unavailable or refused the batch, and throws
 * UnrecoverableError for data that is not a span batch at all.
 */
export async function processSpanJob(job: SpanJob, deps: SpanProcessorDeps): Promise<SpanJobResult> {
  const parsed = spanBatchSchema.safeParse(job.data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UnrecoverableError(`job ${job.id ?? '?'} is not a span batch: ${issues}`);
  }
  const outcome = await deps.batcher.submit({ batch: parsed.data, mayBeStored: mayBeStored(job) });
  if (outcome.status !== 'ok') throw outcome.error;
  return { spans: parsed.data.spanCount, alreadyStored: outcome.alreadyStored };
}
