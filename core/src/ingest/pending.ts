import type { Redis } from 'ioredis';

/**
 * Accepted batches not yet stored, one sorted set per workspace: member the batch id,
 * score the millisecond the collector accepted it. The collector adds a batch when it
 * answers 2xx (in the same script that counts it as accepted), workers remove it once
 * ClickHouse holds it or it became a dead letter, and a replay adds it back. The lowest
 * score is the ingest lag's start. Keys share the queue prefix, so on Redis Cluster a
 * `{hash-tag}` prefix keeps them in the queue's slot and one script may touch them all.
 */
export const pendingKey = (queuePrefix: string, workspaceId: string): string => `${queuePrefix}:ledger:pending:${workspaceId}`;

export interface PendingBatchRef {
  workspaceId: string;
  batchId: string;
}

export async function markPending(redis: Redis, queuePrefix: string, batch: PendingBatchRef & { receivedAtMs: number }): Promise<void> {
  await redis.zadd(pendingKey(queuePrefix, batch.workspaceId), batch.receivedAtMs, batch.batchId);
}

/** Removes batches from their workspaces' pending sets; removing one that is not there is a no-op. */
export async function clearPending(redis: Redis, queuePrefix: string, batches: readonly PendingBatchRef[]): Promise<void> {
  if (batches.length === 0) return;
  const pipeline = redis.pipeline();
  for (const b of batches) pipeline.zrem(pendingKey(queuePrefix, b.workspaceId), b.batchId);
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0] as Error;
}

export interface PendingSummary {
  /** batches accepted and neither stored nor dead-lettered yet */
  batches: number;
  /** when the oldest of them was accepted; null when none is pending */
  oldestReceivedAtMs: number | null;
}

/** Per workspace: how many batches are pending and since when. */
export async function pendingSummaries(redis: Redis, queuePrefix: string, workspaceIds: readonly string[]): Promise<Map<string, PendingSummary>> {
  const pipeline = redis.pipeline();
  for (const ws of workspaceIds) {
    pipeline.zcard(pendingKey(queuePrefix, ws));
    pipeline.zrange(pendingKey(queuePrefix, ws), 0, 0, 'WITHSCORES');
  }
  const results = (await pipeline.exec()) ?? [];
  const failed = results.find(([err]) => err);
  if (failed) throw failed[0] as Error;
  const summaries = new Map<string, PendingSummary>();
  workspaceIds.forEach((ws, i) => {
    const batches = Number(results[2 * i]?.[1] ?? 0);
    const oldest = results[2 * i + 1]?.[1] as string[] | undefined;
    summaries.set(ws, { batches, oldestReceivedAtMs: oldest && oldest.length === 2 ? Number(oldest[1]) : null });
  });
  return summaries;
}

/** Per workspace with anything pending, when its oldest pending batch was accepted (ms). */
export async function pendingSince(redis: Redis, queuePrefix: string, workspaceIds: readonly string[]): Promise<Map<string, number>> {
  const since = new Map<string, number>();
  for (const [ws, p] of await pendingSummaries(redis, queuePrefix, workspaceIds)) if (p.oldestReceivedAtMs !== null) since.set(ws, p.oldestReceivedAtMs);
  return since;
}
