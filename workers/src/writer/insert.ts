import { StorageError, groupsToJsonEachRow, type ClickHouse, type SpanBatch } from '@canopy/core';

/** What became of one ClickHouse insert; expected failures are values, not throws. */
export type InsertOutcome =
  | { status: 'ok' }
  /** ClickHouse is unreachable or overloaded: the same insert may succeed later */
  | { status: 'retryable'; error: StorageError }
  /** ClickHouse refused the data itself */
  | { status: 'rejected'; error: StorageError };

/**
 * One INSERT of the batches' rows into `spans` (the views fill trace_index, usage_daily
 * and ingest_batches from the same block). The rows are JSONEachRow text made by the
 * collector; they are joined, never parsed.
 *
 * On a cluster `spans` is the Distributed table and the client sends the insert with
 * `insert_distributed_sync=1`: it returns once every shard has written its rows, and a
 * failure may leave some shards written, which the stored-check of a retry accounts for
 * (dedupe.ts). A shard that is down or too slow (ClickHouse codes 279, 159) makes the
 * outcome retryable.
 */
export async function insertBatches(clickhouse: ClickHouse, batches: readonly SpanBatch[]): Promise<InsertOutcome> {
  const text = batches.map((b) => groupsToJsonEachRow(b.groups)).join('\n');
  try {
    await clickhouse.insertJsonEachRow('spans', text);
    return { status: 'ok' };
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    return err.code === 'clickhouse_unavailable' ? { status: 'retryable', error: err } : { status: 'rejected', error: err };
  }
}
