import { StorageError, isTransientSqlState, recordDeadLetter, settleStoredBatches, type ClickHouse, type Logger, type PgPool } from '@canopy/core';
import type { DeadLetterEntry, DeadLetterSink } from '../processor.js';
import { checkStoredBatches } from '../writer/dedupe.js';

/** The Redis connection the pending sets live on (the worker's own). */
type PendingRedis = Parameters<typeof settleStoredBatches>[0];

export interface DeadLetterKeeperDeps {
  pool: PgPool;
  redis: PendingRedis;
  /** for the writer's stored-check: a batch ClickHouse holds is never kept */
  clickhouse: ClickHouse;
  logger: Logger;
}

export interface DeadLetterKeeperOptions {
  queuePrefix: string;
}

/** An error from reaching Postgres at all (no SQLSTATE: refused connection, pool timeout) or a transient class. */
function isTransientPgError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || code.length !== 5) return true;
  return isTransientSqlState(code);
}

/**
 * Keeps refused batches as dead letters: the row in Postgres first, then the batch leaves
 * its workspace's pending set (it no longer counts as ingest lag). Both are idempotent, so
 * a job delivered again after being kept changes nothing. Logged at error with the
 * batch's identity, size and error, never its rows.
 *
 * First, ClickHouse is asked whether it holds the batch (the writer's stored-check): the
 * ledger counts a batch as stored from ClickHouse and as dead-lettered from an open dead
 * letter, so it must never be both. A job can fail after its insert landed — it stalled
 * too often, its settle failed, its stored-check was refused — and such a batch is settled
 * as stored instead. A job superseded by a replay of its batch leaves the pending set alone
 * (the replay marked it pending; the replay's job settles it).
 */
export function createDeadLetterKeeper(deps: DeadLetterKeeperDeps, options: DeadLetterKeeperOptions): DeadLetterSink {
  const { logger } = deps;
  const settle = async (batch: DeadLetterEntry['batch'], what: string): Promise<void> => {
    try {
      // Settled like a stored batch: counted as accepted if its collector died before it could, and no longer pending.
      await settleStoredBatches(deps.redis, options.queuePrefix, [{ workspaceId: batch.workspaceId, batchId: batch.batchId }]);
    } catch (err) {
      throw new StorageError('queue_unavailable', `${what} batch ${batch.batchId} but cannot clear it from the pending set: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    async keep(entry: DeadLetterEntry) {
      const { batch, error } = entry;
      // Throws a StorageError: clickhouse_unavailable (the caller retries) or clickhouse_rejected (it does not keep the batch blind).
      if ((await checkStoredBatches(deps.clickhouse, [batch])).stored.has(batch.batchId)) {
        await settle(batch, 'found ClickHouse holding');
        logger.warn({ batchId: batch.batchId, workspaceId: batch.workspaceId, jobId: entry.jobId, code: error.code }, `batch ${batch.batchId} failed its job but ClickHouse holds it: settled as stored, not kept`);
        return 'stored';
      }
      let recorded: Awaited<ReturnType<typeof recordDeadLetter>>;
      try {
        recorded = await recordDeadLetter(deps.pool, entry);
      } catch (err) {
        if (!isTransientPgError(err)) throw err;
        throw new StorageError('postgres_unavailable', `cannot keep batch ${batch.batchId} as a dead letter: ${(err as Error).message}`, { cause: err });
      }
      if (recorded.outcome === 'unchanged' && recorded.deadLetter.status === 'replayed') {
        logger.warn(
          { batchId: batch.batchId, jobId: entry.jobId, deadLetterId: recorded.deadLetter.id, replayCount: recorded.deadLetter.replayCount, code: error.code },
          `stale job ${entry.jobId} of batch ${batch.batchId} failed after dead letter ${recorded.deadLetter.id} was replayed; left to the replay`,
        );
        return 'superseded';
      }
      await settle(batch, 'kept as a dead letter');
      const fields = { batchId: batch.batchId, orgId: batch.orgId, workspaceId: batch.workspaceId, spans: batch.spanCount, bytes: batch.bytes, attempts: entry.attempts, code: error.code, err: error.message };
      if (recorded.outcome === 'workspace_deleted') {
        logger.error(fields, `batch ${batch.batchId} refused by ClickHouse after its last attempt, and its workspace ${batch.workspaceId} no longer exists: dropped`);
        return 'workspace_deleted';
      }
      const { deadLetter, outcome } = recorded;
      logger.error(
        { ...fields, deadLetterId: deadLetter.id, outcome, status: deadLetter.status },
        `batch ${batch.batchId} (${batch.spanCount} spans, workspace ${batch.workspaceId}) is dead letter ${deadLetter.id} (${outcome}): ${error.code}: ${error.message}`,
      );
      return 'kept';
    },
  };
}
