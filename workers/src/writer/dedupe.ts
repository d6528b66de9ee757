import { sql, type ClickHouse, type SpanBatch } from '@canopy/core';

/**
 * Which of these batches ClickHouse already holds.
 *
 * Why this is needed: a job can be delivered again after its rows were inserted — the
 * worker died (or lost its lock) between the insert and the job's completion, or the
 * insert succeeded but the reply was lost and the job was retried. On
 * `Replicated*MergeTree` ClickHouse drops a re-sent identical block by its checksum,
 * but on the plain `MergeTree` of a single node it keeps both copies, so the spans and
 * every usage rollup would count twice.
 *
 * Why `ingest_batches` answers it: that table is fed by a materialized view from the
 * very INSERT that writes the spans, and every row of a batch carries its `batch_id`.
 * The worker inserts a batch in one INSERT that stays one block (the batcher keeps
 * inserts far below `max_insert_block_size`, 1,048,576 rows), and ClickHouse writes a
 * block to `spans` and pushes it through the views before acknowledging; an INSERT
 * whose data fails to parse writes nothing. So a batch id present in `ingest_batches`
 * means its spans are stored, and an absent one means they are not: such jobs are
 * completed without a second insert.
 *
 * Only jobs that may have been delivered before are checked (the caller decides), so
 * the common first attempt costs no query.
 *
 * Not covered: two workers writing the same job at the same moment (a lock lost while
 * the first is still inserting) — a lock of at least 60 s, renewed every half of it,
 * makes that window one of a frozen process, not of a slow insert; and a view failing
 * after the `spans` part was written (ClickHouse writes the table before its views),
 * which leaves spans without their ledger row.
 */
export async function findStoredBatches(clickhouse: ClickHouse, batches: readonly SpanBatch[]): Promise<Set<string>> {
  const byOrg = new Map<string, SpanBatch[]>();
  for (const b of batches) {
    const list = byOrg.get(b.orgId) ?? [];
    list.push(b);
    byOrg.set(b.orgId, list);
  }
  const stored = new Set<string>();
  await Promise.all(
    [...byOrg].map(async ([orgId, list]) => {
      const scope = { orgId, workspaceIds: [...new Set(list.map((b) => b.workspaceId))] };
      const ids = sql.join([...new Set(list.map((b) => b.batchId))].map((id) => sql`${id}`));
      const rows = await clickhouse.query<{ batch_id: string }>(
        scope,
        sql`SELECT DISTINCT batch_id FROM ingest_batches WHERE ${sql.tenant(scope)} AND batch_id IN (${ids})`,
      );
      for (const r of rows) stored.add(r.batch_id);
    }),
  );
  return stored;
}
