import { AllTenants, groupsToJsonEachRow, sql, type ClickHouse } from '@canopy/core';
import { createTestEnv, type TestEnv } from '@canopy/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBatchWriter,
  createBatcher,
  findStoredBatches,
  processSpanJob,
  type FlushReport,
  type PendingBatch,
  type SpanJob,
  type WriteOutcome,
} from '../src/index.js';
import { countStored, makeSpanBatch, quietLogger } from './helpers.js';

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv();
});
afterAll(() => env?.cleanup());

const retry = { attemptsStarted: 2, attemptsMade: 1, stalledCounter: 0 };
const afterStall = { attemptsStarted: 2, attemptsMade: 0, stalledCounter: 1 };
const first = { attemptsStarted: 1, attemptsMade: 0, stalledCounter: 0 };

/** The writer's real processing path (batcher → dedupe → insert) without the queue around it. */
function pipeline(clickhouse: ClickHouse = env.clickhouse) {
  const reports: FlushReport[] = [];
  const batcher = createBatcher<PendingBatch, WriteOutcome>({
    maxRows: 100_000,
    maxBytes: 64 * 1024 * 1024,
    maxWaitMs: 50,
    maxItems: 64,
    measure: (p) => ({ rows: p.batch.spanCount, bytes: p.batch.bytes }),
    flush: createBatchWriter({ clickhouse, logger: quietLogger() }, { onFlush: (r) => reports.push(r) }),
  });
  return { reports, process: (job: SpanJob) => processSpanJob(job, { batcher, unavailableDelayMs: () => 1_000 }) };
}

describe('redelivered batches', () => {
  it('completes a retried job whose batch is already stored without a second copy', async () => {
    const tenant = { orgId: 'org_a', workspaceId: 'ws_a' };
    const batch = makeSpanBatch(tenant, { spans: 7 });
    await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(batch.groups));
    const { process, reports } = pipeline();

    expect(await process({ data: batch, ...retry })).toEqual({ spans: 7, alreadyStored: true });
    expect(await process({ data: batch, ...afterStall })).toEqual({ spans: 7, alreadyStored: true });
    expect(reports.flatMap((r) => r.inserts)).toEqual([]);
    expect(await countStored(env.clickhouse, tenant.orgId)).toEqual({ rows: 7, distinctSpans: 7, usageSpans: 7 });
  });

  it('inserts a retried job whose batch never reached ClickHouse', async () => {
    const tenant = { orgId: 'org_b', workspaceId: 'ws_b' };
    const { process } = pipeline();
    expect(await process({ data: makeSpanBatch(tenant, { spans: 3 }), ...afterStall })).toEqual({ spans: 3, alreadyStored: false });
    expect(await countStored(env.clickhouse, tenant.orgId)).toEqual({ rows: 3, distinctSpans: 3, usageSpans: 3 });
  });

  it('leaves the stored batch out of a shared insert and writes the others', async () => {
    const tenant = { orgId: 'org_c', workspaceId: 'ws_c' };
    const stored = makeSpanBatch(tenant, { spans: 4 });
    const fresh = makeSpanBatch(tenant, { spans: 6 });
    await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(stored.groups));
    const { process, reports } = pipeline();

    const results = await Promise.all([process({ data: stored, ...retry }), process({ data: fresh, ...first })]);
    expect(results.map((r) => r.alreadyStored)).toEqual([true, false]);
    expect(reports).toHaveLength(1);
    expect(reports[0]?.inserts).toEqual([{ jobs: 1, rows: 6, status: 'ok' }]);
    expect(await countStored(env.clickhouse, tenant.orgId)).toEqual({ rows: 10, distinctSpans: 10, usageSpans: 10 });
  });

  it('asks ClickHouse only about jobs that may have been delivered before', async () => {
    const tenant = { orgId: 'org_d', workspaceId: 'ws_d' };
    const queries: string[] = [];
    const counting: ClickHouse = {
      ...env.clickhouse,
      query: (scope, q) => (queries.push(q.text), env.clickhouse.query(scope, q)),
    };
    const { process } = pipeline(counting);
    await process({ data: makeSpanBatch(tenant, { spans: 2 }), ...first });
    expect(queries).toEqual([]);
    await process({ data: makeSpanBatch(tenant, { spans: 2 }), ...retry });
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/FROM ingest_batches WHERE \(org_id = 'org_d' AND workspace_id IN \('ws_d'\)\) AND batch_id IN \('batch_/);
  });

  it('looks for a stored batch only inside its own tenant', async () => {
    const mine = makeSpanBatch({ orgId: 'org_e', workspaceId: 'ws_e' }, { spans: 2 });
    const elsewhere = makeSpanBatch({ orgId: 'org_other', workspaceId: 'ws_other' }, { spans: 2, batchId: mine.batchId });
    await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(elsewhere.groups));
    expect(await findStoredBatches(env.clickhouse, [mine])).toEqual(new Set());
    expect(await findStoredBatches(env.clickhouse, [elsewhere])).toEqual(new Set([elsewhere.batchId]));
    const [row] = await env.clickhouse.query<{ n: string }>(AllTenants, sql`SELECT count() AS n FROM ingest_batches WHERE ${sql.allTenants()} AND batch_id = ${mine.batchId}`);
    expect(row?.n).toBe('1');
  });
});

describe('the stored-batch view', () => {
  it('files a batch only after every other view of the insert has its rows', async () => {
    // A view sorting between the rollups and the stored-batch view that refuses one tenant's
    // rows: ClickHouse has written `spans` and the earlier views when it throws, like an
    // insert cut off part-way.
    const tenant = { orgId: 'org_cut', workspaceId: 'ws_cut' };
    const db = sql.identifier(env.config.clickhouse.database);
    await env.clickhouse.command(sql`CREATE TABLE ${db}.cut_target (n UInt8) ENGINE = MergeTree ORDER BY n`);
    await env.clickhouse.command(
      sql`CREATE MATERIALIZED VIEW ${db}.y_cut_mv TO ${db}.cut_target AS SELECT throwIf(org_id = ${tenant.orgId}) AS n FROM ${db}.spans`,
    );
    try {
      const batch = makeSpanBatch(tenant, { spans: 4 });
      await expect(env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(batch.groups))).rejects.toThrow(/throwIf|395/);
      // usage_daily sorts before the refusing view and has the rows; the batch is not filed,
      // so a retry writes it again instead of trusting a half-done insert.
      expect((await countStored(env.clickhouse, tenant.orgId)).usageSpans).toBe(4);
      expect(await findStoredBatches(env.clickhouse, [batch])).toEqual(new Set());
    } finally {
      await env.clickhouse.command(sql`DROP TABLE IF EXISTS ${db}.y_cut_mv`);
      await env.clickhouse.command(sql`DROP TABLE IF EXISTS ${db}.cut_target`);
    }
  });
});
