import { spanBatchSchema, type Logger } from '@canopy/core';
import type { DeadLetterSink } from '../processor.js';

/** The parts of a failed BullMQ job the sweep reads. */
export interface FailedJob {
  id?: string | undefined;
  data: unknown;
  attemptsMade: number;
  failedReason: string;
}

/** The parts of the span queue the sweep uses (a BullMQ Queue). */
export interface FailedJobSource {
  getFailed(start: number, end: number): Promise<FailedJob[]>;
  /** 1 when removed, 0 when it was not there (or locked) */
  remove(jobId: string): Promise<number>;
}

export interface FailedJobSweepDeps {
  queue: FailedJobSource;
  deadLetters: DeadLetterSink;
  logger: Logger;
}

export interface SweepReport {
  /** failed jobs now kept as dead letters and removed from Redis */
  moved: number;
  /** failed jobs whose batch ClickHouse holds after all: settled as stored and removed, nothing kept */
  stored: number;
  /** failed jobs of batches replayed since (stale): removed, the dead letter left to the replay */
  superseded: number;
  /** failed jobs whose data is not a span batch: left in the failed set */
  notBatches: number;
  /** failed jobs that could not be kept this time: left in the failed set for the next sweep */
  errors: number;
}

/** Code of dead letters moved from BullMQ's failed set: the job's own error code is not kept there, only its message. */
export const FAILED_JOB_ERROR_CODE = 'job_failed';

const PAGE = 100;
/** Bounds one sweep; a larger backlog is finished by the next ones. */
const MAX_JOBS_PER_SWEEP = 10_000;

/**
 * Moves span batches that sit in BullMQ's failed set into dead letters, then removes each
 * job from Redis — only after its dead letter is committed, so a crash in between leaves
 * the job to be moved again (recording is idempotent by batch id). The failed set held
 * every refused batch before dead letters existed, and still takes jobs that stall too
 * often (`maxStalledCount`) or whose dead letter could not be written. Such a job may have
 * been stored before it failed: the keeper's stored-check then settles it as stored, and
 * the job is removed without a dead letter. Jobs whose data is not a span batch are left
 * where they are. Several workers may sweep at once.
 */
export async function sweepFailedJobs(deps: FailedJobSweepDeps): Promise<SweepReport> {
  const report: SweepReport = { moved: 0, stored: 0, superseded: 0, notBatches: 0, errors: 0 };
  // Jobs left in the set shift the window; moved ones leave it.
  let kept = 0;
  for (let seen = 0; seen < MAX_JOBS_PER_SWEEP; ) {
    const jobs = await deps.queue.getFailed(kept, kept + PAGE - 1);
    if (jobs.length === 0) break;
    seen += jobs.length;
    for (const job of jobs) {
      const parsed = spanBatchSchema.safeParse(job.data);
      if (!parsed.success || job.id === undefined) {
        report.notBatches++;
        kept++;
        continue;
      }
      try {
        const result = await deps.deadLetters.keep({
          batch: parsed.data,
          attempts: job.attemptsMade,
          error: { code: FAILED_JOB_ERROR_CODE, message: job.failedReason || 'failed in the queue' },
          jobId: job.id,
        });
        if ((await deps.queue.remove(job.id)) === 0) kept++;
        if (result === 'stored' || result === 'superseded') report[result]++;
        else report.moved++;
      } catch (err) {
        report.errors++;
        kept++;
        deps.logger.warn({ jobId: job.id, batchId: parsed.data.batchId, err: (err as Error).message }, `cannot move failed job ${job.id} to dead letters yet: ${(err as Error).message}`);
      }
    }
  }
  if (report.notBatches > 0) deps.logger.warn({ notBatches: report.notBatches }, `${report.notBatches} failed jobs are not span batches; left in the failed set`);
  if (report.moved + report.stored + report.superseded > 0) {
    deps.logger.info({ moved: report.moved, stored: report.stored, superseded: report.superseded }, `moved ${report.moved} failed jobs to dead letters; removed ${report.stored} found stored and ${report.superseded} superseded by a replay`);
  }
  return report;
}

export interface FailedJobSweepOptions {
  /** time between sweeps */
  intervalMs: number;
  /** first sweep after start; default 0 (at once) */
  firstRunMs?: number;
}

export interface FailedJobSweep {
  /** Stops sweeping and waits for a running sweep. Safe to call twice. */
  close(): Promise<void>;
}

/** Sweeps at start, then every `intervalMs`; a failed sweep is logged and the next one tries again. */
export function createFailedJobSweep(deps: FailedJobSweepDeps, options: FailedJobSweepOptions): FailedJobSweep {
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let closed = false;
  const schedule = (ms: number): void => {
    timer = setTimeout(() => {
      current = sweepFailedJobs(deps)
        .then(
          () => undefined,
          (err: unknown) => deps.logger.warn({ err: (err as Error).message }, `failed-job sweep failed: ${(err as Error).message}`),
        )
        .finally(() => {
          current = undefined;
          if (!closed) schedule(options.intervalMs);
        });
    }, ms);
  };
  schedule(options.firstRunMs ?? 0);
  let closing: Promise<void> | undefined;
  return {
    close: () =>
      (closing ??= (async () => {
        closed = true;
        clearTimeout(timer);
        await current;
      })()),
  };
}
