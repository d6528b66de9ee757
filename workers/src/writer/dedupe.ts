import { sql, type ClickHouse, type SpanBatch, type TenantScope } from '@canopy/core';

/**
 * Which of these batches ClickHouse already holds, wholly or in part.
 *
 * Why this is needed: a job can be delivered again after its rows were inserted — the
 * worker died (or lost its lock) between the insert and the job's completion, or the
 * insert succeeded but the reply was lost and the job was retried. On
 * `Replicated*MergeTree` ClickHouse drops a re-sent identical block by its checksum,
 * but on the plain `MergeTree` of a single node it keeps both copies, so the spans and
 * every usage rollup would count twice. On a cluster the block dedup does not help
 * either: the worker combines several jobs into one insert, a retry combines them
 * differently, and the Distributed table cuts the combination into per-shard blocks
 * that differ from the first attempt's.
 *
 * Why `ingest_batches` answers it: that table is fed by a materialized view from the
 * very INSERT that writes the spans, and every row of a batch carries its `batch_id`;
 * `sum(spans)` per batch is how many of its spans are stored.
 *
 * - One node: the worker inserts a batch in one INSERT that stays one block (the
 *   batcher keeps inserts far below `max_insert_block_size`, 1,048,576 rows), and
 *   ClickHouse writes a block to `spans` and pushes it through the views before
 *   acknowledging; an INSERT whose data fails to parse writes nothing. So the count is
 *   either the batch's `spanCount` (stored: complete the job without a second insert)
 *   or 0 (insert it).
 * - Cluster: the Distributed table splits a batch by trace over the shards, and an
 *   insert that fails on one shard (down, timed out) may have written the others. So
 *   the count can also lie in between. Then, and only then, the batch's stored span
 *   ids are read (a tenant-scoped query bounded by the batch's own time range, so it
 *   reads only the partitions the batch wrote to) and the batch is narrowed to the rows
 *   still missing, which are inserted instead.
 *
 * Only jobs that may have been delivered before are checked (the caller decides), so
 * the common first attempt costs no query.
 *
 * Not covered: two workers writing the same job at the same moment (a lock lost while
 * the first is still inserting) — a lock of at least 60 s, renewed every half of it,
 * makes that window one of a frozen process, not of a slow insert; an insert cut off
 * after the `spans` part was written and before the stored-batch view ran (ClickHouse
 * writes the table, then its views in name order; the view is named to run last, so the
 * batch is filed only once every rollup has it), which leaves spans without their batch
 * row, so the retry writes them again; and, on a cluster with several replicas
 * per shard, a check that reads a replica lagging behind the one that took the insert
 * (see docs/cluster.md, "Retry safety").
 */
export interface StoredBatches {
  /** batches ClickHouse holds entirely */
  stored: Set<string>;
  /** batches ClickHouse holds in part, narrowed to the rows it still lacks */
  remainders: Map<string, SpanBatch>;
}

export async function checkStoredBatches(clickhouse: ClickHouse, batches: readonly SpanBatch[]): Promise<StoredBatches> {
  const result: StoredBatches = { stored: new Set(), remainders: new Map() };
  const partial: Array<{ batch: SpanBatch; scope: TenantScope }> = [];
  await Promise.all(
    [...groupByOrg(batches)].map(async ([orgId, list]) => {
      const scope = { orgId, workspaceIds: [...new Set(list.map((b) => b.workspaceId))] };
      const ids = sql.join([...new Set(list.map((b) => b.batchId))].map((id) => sql`${id}`));
      const rows = await clickhouse.query<{ batch_id: string; spans: string }>(
        scope,
        sql`SELECT batch_id, sum(spans) AS spans FROM ingest_batches WHERE ${sql.tenant(scope)} AND batch_id IN (${ids}) GROUP BY batch_id`,
      );
      const counts = new Map(rows.map((r) => [r.batch_id, Number(r.spans)]));
      for (const b of list) {
        const n = counts.get(b.batchId) ?? 0;
        if (n >= b.spanCount) result.stored.add(b.batchId);
        else if (n > 0) partial.push({ batch: b, scope: { orgId, workspaceIds: [b.workspaceId] } });
      }
    }),
  );
  for (const { batch, scope } of partial) {
    const remainder = withoutStoredRows(batch, await storedSpanKeys(clickhouse, scope, batch));
    if (remainder) result.remainders.set(batch.batchId, remainder);
    else result.stored.add(batch.batchId);
  }
  return result;
}

/** The batch ids ClickHouse holds entirely (see `checkStoredBatches`). */
export async function findStoredBatches(clickhouse: ClickHouse, batches: readonly SpanBatch[]): Promise<Set<string>> {
  return (await checkStoredBatches(clickhouse, batches)).stored;
}

function groupByOrg(batches: readonly SpanBatch[]): Map<string, SpanBatch[]> {
  const byOrg = new Map<string, SpanBatch[]>();
  for (const b of batches) {
    const list = byOrg.get(b.orgId) ?? [];
    list.push(b);
    byOrg.set(b.orgId, list);
  }
  return byOrg;
}

const spanKey = (traceId: string, spanId: string): string => `${traceId}\u0000${spanId}`;

/** `trace_id\0span_id` of the batch's stored spans; the timestamp bounds keep it to the batch's partitions. */
async function storedSpanKeys(clickhouse: ClickHouse, scope: TenantScope, batch: SpanBatch): Promise<Set<string>> {
  const rows = await clickhouse.query<{ trace_id: string; span_id: string }>(
    scope,
    sql`SELECT DISTINCT trace_id, span_id FROM spans
        WHERE ${sql.tenant(scope)} AND batch_id = ${batch.batchId}
          AND timestamp >= toDateTime(${batch.minTimestampSec}) AND timestamp <= toDateTime(${batch.maxTimestampSec})`,
  );
  return new Set(rows.map((r) => spanKey(r.trace_id, r.span_id)));
}

/** The batch with only the rows whose (trace_id, span_id) is not stored; null when none is left. */
function withoutStoredRows(batch: SpanBatch, stored: ReadonlySet<string>): SpanBatch | null {
  const groups: SpanBatch['groups'] = [];
  let spanCount = 0;
  let bytes = 0;
  for (const g of batch.groups) {
    const kept = g.spans.split('\n').filter((line) => {
      const row = parseRow(`{${g.prefix},${line}}`);
      if (row && stored.has(spanKey(row.trace_id, row.span_id))) return false;
      spanCount++;
      bytes += row?.size_bytes ?? 0;
      return true;
    });
    if (kept.length) groups.push({ prefix: g.prefix, spans: kept.join('\n') });
  }
  return spanCount ? { ...batch, groups, spanCount, bytes } : null;
}

/** A row's key columns; null for text that is not a row (kept, so ClickHouse judges it as before). */
function parseRow(text: string): { trace_id: string; span_id: string; size_bytes: number } | null {
  try {
    return JSON.parse(text) as { trace_id: string; span_id: string; size_bytes: number };
  } catch {
    return null;
  }
}
