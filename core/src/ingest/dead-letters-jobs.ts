/**
 * Job ids of dead-letter replays. A replay is queued under its own job id: it must differ
 * from the batch id (the original job's id, which BullMQ may still hold) while the batch
 * keeps its id, so the workers' stored-check finds a batch that is in fact stored and
 * skips it. No `:` (BullMQ reserves it in job ids).
 */

/** The BullMQ job id of the n-th replay of a batch. */
export const replayJobId = (batchId: string, replayCount: number): string => `${batchId}-replay-${replayCount}`;

/** True for a job id made by `replayJobId`: the batch has been queued before and may be stored. */
export const isReplayJobId = (jobId: string | undefined): boolean => jobId !== undefined && /-replay-\d+$/.test(jobId);

/** Which replay of `batchId` the job `jobId` is; null for the batch's original job (or anything else). */
export function replayCountOf(jobId: string, batchId: string): number | null {
  const n = Number(/-replay-(\d+)$/.exec(jobId)?.[1]);
  return Number.isSafeInteger(n) && replayJobId(batchId, n) === jobId ? n : null;
}
