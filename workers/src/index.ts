export {
  createSpanWriter,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_STALLED_INTERVAL_MS,
  DEFAULT_MAX_STALLED_COUNT,
  type SpanWriter,
  type SpanWriterDeps,
  type SpanWriterOptions,
} from './span-writer.js';
export { processSpanJob, mayBeStored, type SpanJob, type SpanJobResult, type SpanProcessorDeps } from './processor.js';
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
