import { DelayedError, UnrecoverableError } from 'bullmq';
import { StorageError, isReplayJobId, spanBatchSchema, type SpanBatch } from '@canopy/core';
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
  /** attempts the job was given (BullMQ `opts.attempts`; the collector sets CANOPY_JOB_ATTEMPTS); default 1 */
  attempts?: number;
  /** puts the job back until `untilMs` without counting an attempt (BullMQ moveToDelayed) */
  delay?: (untilMs: number) => Promise<void>;
}

export interface SpanProcessorDeps {
  batcher: Batcher<PendingBatch, WriteOutcome>;
  /** wait before the next try while ClickHouse is unavailable (grows with the outage) */
  unavailableDelayMs: () => number;
  /** where a batch refused on its last attempt is kept; without it the job fails and BullMQ keeps it as failed */
  deadLetters?: DeadLetterSink;
}

/** A refused batch, on its last attempt, to be kept as a dead letter. */
export interface DeadLetterEntry {
  batch: SpanBatch;
  /** insert attempts this job spent, the last included */
  attempts: number;
  error: { code: string; message: string };
}

export interface DeadLetterSink {
  /**
   * Resolves once the dead letter is committed (or its workspace is found deleted, which
   * took its dead letters with it). Throws a StorageError `postgres_unavailable` or
   * `queue_unavailable` when it could not keep it now but may later.
   */
  keep(entry: DeadLetterEntry): Promise<'kept' | 'workspace_deleted'>;
}

export interface SpanJobResult {
  spans: number;
  /** ClickHouse held the batch already; nothing was inserted */
  alreadyStored: boolean;
  /** set when ClickHouse refused the batch on its last attempt and it was kept as a dead letter (or its workspace is gone) */
  deadLetter?: 'kept' | 'workspace_deleted';
}

/** While the dead letter cannot be written (Postgres down), the job is put back for this long, spending no attempt. */
export const DEAD_LETTER_RETRY_MS = 5_000;

/**
 * Any earlier delivery may have inserted the rows before the job could be completed:
 * a failed attempt (the reply to a successful insert can be lost), a delivery that
 * stalled (the worker died after the insert), or one that started and never finished.
 */
export function mayBeStored(job: SpanJob): boolean {
  // A replayed dead letter keeps its batch id; it may have been stored since (by a replay whose completion was lost).
  return job.attemptsStarted > 1 || job.stalledCounter > 0 || job.attemptsMade > 0 || isReplayJobId(job.id);
}

/** This delivery is the job's last attempt: failing it now would leave it in BullMQ's failed set. */
export function isLastAttempt(job: Pick<SpanJob, 'attemptsMade' | 'attempts'>): boolean {
  return job.attemptsMade + 1 >= (job.attempts ?? 1);
}

/**
 * Writes one queued span batch. Resolves only after ClickHouse holds the rows. While
 * ClickHouse is unavailable the job is delayed without spending an attempt, so an outage
 * of any length loses nothing; a batch ClickHouse refuses spends attempts, and on its last
 * one is kept as a dead letter in Postgres and the job completes; data that is not a span
 * batch is UnrecoverableError.
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
  if (outcome.status === 'rejected' && deps.deadLetters && isLastAttempt(job)) {
    const entry = { batch: parsed.data, attempts: job.attemptsMade + 1, error: { code: outcome.error.code, message: outcome.error.message } };
    return { spans: parsed.data.spanCount, alreadyStored: false, deadLetter: await keepDeadLetter(job, { sink: deps.deadLetters, entry }) };
  }
  if (outcome.status !== 'ok') throw outcome.error;
  return { spans: parsed.data.spanCount, alreadyStored: outcome.alreadyStored };
}

/**
 * Keeps the refused batch before the job completes. If Postgres (or Redis, for the
 * pending set) cannot take it now, the job is put back without spending an attempt: it
 * stays in Redis, nothing is dropped, and it never reaches BullMQ's failed set for an
 * outage. Its next delivery tries the insert once more first — harmless (a refused insert
 * writes nothing, and the stored-check runs since the job may be stored), and it stores
 * the batch if its cause was fixed meanwhile — then keeps it again. Any other error (a
 * payload Postgres refuses, a bug) fails the job: BullMQ keeps it as failed, and the
 * failed-job sweep tries again later (dead-letters/sweep.ts).
 */
async function keepDeadLetter(job: SpanJob, what: { sink: DeadLetterSink; entry: DeadLetterEntry }): Promise<'kept' | 'workspace_deleted'> {
  try {
    return await what.sink.keep(what.entry);
  } catch (err) {
    const retryable = err instanceof StorageError && (err.code === 'postgres_unavailable' || err.code === 'queue_unavailable');
    if (!retryable || !job.delay) throw err;
    await job.delay(Date.now() + DEAD_LETTER_RETRY_MS);
    throw new DelayedError();
  }
}
