export {
  createSpanWriter,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_STALLED_INTERVAL_MS,
  DEFAULT_MAX_STALLED_COUNT,
  type SpanWriter,
  type SpanWriterDeps,
  type SpanWriterOptions,
} from './span-writer.js';
export {
  processSpanJob,
  mayBeStored,
  isLastAttempt,
  DEAD_LETTER_RETRY_MS,
  SETTLE_RETRY_MS,
  type SpanJob,
  type SpanJobResult,
  type SpanProcessorDeps,
  type DeadLetterEntry,
  type DeadLetterSink,
  type DeadLetterResult,
} from './processor.js';
export { createDeadLetterKeeper, type DeadLetterKeeperDeps, type DeadLetterKeeperOptions } from './dead-letters/keep.js';
export {
  sweepFailedJobs,
  createFailedJobSweep,
  FAILED_JOB_ERROR_CODE,
  type FailedJob,
  type FailedJobSource,
  type FailedJobSweep,
  type FailedJobSweepDeps,
  type FailedJobSweepOptions,
  type SweepReport,
} from './dead-letters/sweep.js';
export { createBatcher, type Batcher, type BatcherOptions, type FlushReason } from './writer/batcher.js';
export {
  createBatchWriter,
  type BatchWriter,
  type BatchWriterDeps,
  type BatchWriterOptions,
  type PendingBatch,
  type WriteOutcome,
  type FlushReport,
  type InsertReport,
} from './writer/write.js';
export { findStoredBatches, checkStoredBatches, type StoredBatches } from './writer/dedupe.js';
export { insertBatches, type InsertOutcome } from './writer/insert.js';
export type { WriterFault } from './writer/faults.js';
export { planRetention, cutoffFor, partitionOf, type RetentionPlan, type RetentionPolicy, type DeleteGroup } from './retention/plan.js';
export { runRetention, RETENTION_ACTOR, type RetentionDeps, type RetentionRunOptions, type RetentionReport, type WorkspacePurge } from './retention/purge.js';
export { createRetentionSchedule, type RetentionSchedule, type RetentionScheduleDeps, type RetentionScheduleOptions, type ScheduleRedis } from './retention/schedule.js';
export { loadRetentionPolicies } from './retention/policies.js';
export { runPricing, PRICING_ACTOR, DEFAULT_LOOKBACK_DAYS, DEFAULT_SETTLE_MS, PricingError, type PricingDeps, type PricingRunOptions, type PricingReport } from './pricing/job.js';
export { planPricing, pricingWindow, type PricingPlan } from './pricing/plan.js';
export { reconcileLedger, type ReconcileDeps, type ReconcileOptions, type ReconcileReport } from './ledger/reconcile.js';
export { createLedgerFlushLoop, type LedgerFlushLoop, type LedgerFlushLoopDeps, type LedgerFlushLoopOptions } from './ledger/flush-loop.js';
export { startLedgerServices, type LedgerServices, type LedgerServicesDeps } from './ledger/start.js';
export { createWorkerMetrics, serveMetrics, type WorkerMetrics, type MetricsServer } from './metrics.js';
