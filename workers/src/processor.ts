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
  /** the job's id: only the current replay's job may reopen a replayed dead letter */
  jobId: string;
}

/**
 * What became of a batch handed to the dead-letter sink: `kept` as a dead letter; found
 * `stored` in ClickHouse after all (settled in the ledger instead; nothing kept); its
 * workspace deleted (which took its dead letters with it); or `superseded` — a stale job of
 * a batch that has been replayed since, left to the replay.
 */
export type DeadLetterResult = 'kept' | 'stored' | 'workspace_deleted' | 'superseded';

export interface DeadLetterSink {
  /**
   * Resolves once the batch is settled one way or the other (see DeadLetterResult); the
   * job may then be completed or removed. Throws a StorageError `postgres_unavailable`,
   * `queue_unavailable` or `clickhouse_unavailable` when it could not decide now but may later.
   */
  keep(entry: DeadLetterEntry): Promise<DeadLetterResult>;
}

export interface SpanJobResult {
  spans: number;
  /** ClickHouse held the batch already; nothing was inserted */
  alreadyStored: boolean;
  /** set when ClickHouse refused the batch on its last attempt and it was kept as a dead letter (or its workspace is gone, or a replay superseded the job) */
  deadLetter?: Exclude<DeadLetterResult, 'stored'>;
}

/** While the dead letter cannot be written (Postgres down), the job is put back for this long, spending no attempt. */
export const DEAD_LETTER_RETRY_MS = 5_000;
/** While a stored batch cannot be settled in the ledger (Redis), the job is put back for this long, spending no attempt. */
export const SETTLE_RETRY_MS = 5_000;

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
    // queue_unavailable: stored, but not yet settled in the ledger (span-writer.ts); the next delivery finds it stored.
    await job.delay(Date.now() + (outcome.error.code === 'queue_unavailable' ? SETTLE_RETRY_MS : deps.unavailableDelayMs()));
    throw new DelayedError();
  }
  // Only a `rejected` outcome is kept, never `ok` (stored now or found stored by an earlier
  // delivery, stalled ones included: they count as mayBeStored) or `retryable`. `rejected`
  // says the insert was refused (it wrote nothing, or on a cluster only part of the batch,
  // which the dead letter's replay completes), or that the stored-check itself was refused —
  // then whether the batch is stored is unknown, so the sink checks again before keeping it.
  if (outcome.status === 'rejected' && deps.deadLetters && isLastAttempt(job)) {
    const entry = { batch: parsed.data, attempts: job.attemptsMade + 1, error: { code: outcome.error.code, message: outcome.error.message }, jobId: job.id ?? parsed.data.batchId };
    const result = await keepDeadLetter(job, { sink: deps.deadLetters, entry });
    if (result === 'stored') return { spans: parsed.data.spanCount, alreadyStored: true };
    return { spans: parsed.data.spanCount, alreadyStored: false, deadLetter: result };
  }
  if (outcome.status !== 'ok') throw outcome.error;
  return { spans: parsed.data.spanCount, alreadyStored: outcome.alreadyStored };
}

/**
 * Keeps the refused batch before the job completes. If Postgres, Redis (the pending set)
 * or ClickHouse (the sink's stored-check) cannot answer now, the job is put back without spending an attempt: it
 * stays in Redis, nothing is dropped, and it never reaches BullMQ's failed set for an
 * outage. Its next delivery tries the insert once more first — harmless (a refused insert
 * writes nothing, and the stored-check runs since the job may be stored), and it stores
 * the batch if its cause was fixed meanwhile — then keeps it again. Any other error (a
 * payload Postgres refuses, a bug) fails the job: BullMQ keeps it as failed, and the
 * failed-job sweep tries again later (dead-letters/sweep.ts).
 */
async function keepDeadLetter(job: SpanJob, what: { sink: DeadLetterSink; entry: DeadLetterEntry }): Promise<DeadLetterResult> {
  try {
    return await what.sink.keep(what.entry);
  } catch (err) {
    const retryable = err instanceof StorageError && (err.code === 'postgres_unavailable' || err.code === 'queue_unavailable' || err.code === 'clickhouse_unavailable');
    if (!retryable || !job.delay) throw err;
    await job.delay(Date.now() + DEAD_LETTER_RETRY_MS);
    throw new DelayedError();
  }
}
