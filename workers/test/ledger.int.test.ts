import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  cellField,
  clearPending,
  commitAccepted,
  createRedis,
  createSpanQueue,
  groupsToJsonEachRow,
  ledgerKeys,
  minuteOf,
  newId,
  normalizeTraceRequest,
  pendingSummaries,
  writeAcceptIntent,
  type Logger,
  type SpanBatch,
  type SpanQueue,
} from '@canopy/core';
import { createTestEnv, createTestOrg, freePort, waitFor, type TestEnv } from '@canopy/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSpanWriter, createWorkerMetrics, reconcileLedger, serveMetrics, type SpanWriter } from '../src/index.js';
import { quietLogger } from './helpers.js';

// The workers' half of the ingest ledger against the real services: the span writer takes
// stored batches out of the pending sets (counting any the collector could not), and
// reconciliation compares accepted (Postgres) with stored (ClickHouse) + dead letters.

let env: TestEnv;
let redis: Redis;
let queue: SpanQueue;
let writer: SpanWriter;
let prefix: string;
let ws: { orgId: string; workspaceId: string };
let other: { orgId: string; workspaceId: string };

beforeAll(async () => {
  env = await createTestEnv();
  prefix = env.config.redis.queuePrefix;
  redis = createRedis(env.config.redis.url, { forWorker: true });
  queue = createSpanQueue(redis, prefix);
  writer = createSpanWriter(
    { clickhouse: env.clickhouse, connection: redis, logger: quietLogger(), ledgerRedis: redis },
    { queuePrefix: prefix, concurrency: 16, batchMaxRows: 100_000, batchMaxBytes: 64 * 1024 * 1024, batchMaxWaitMs: 50 },
  );
  const org = await createTestOrg(env, ['dev', 'prod']);
  ws = { orgId: org.orgId, workspaceId: org.workspaces.dev!.id };
  other = { orgId: org.orgId, workspaceId: org.workspaces.prod!.id };
});
afterAll(async () => {
  await writer?.close();
  await queue?.close();
  redis?.disconnect();
  await env?.cleanup();
});

/** Warnings a reconciliation logs, captured. */
function capturingLogger(): { logger: Logger; warnings: Array<Record<string, unknown>> } {
  const warnings: Array<Record<string, unknown>> = [];
  const base = quietLogger();
  const logger = Object.assign(Object.create(base) as Logger, { warn: (obj: Record<string, unknown>) => void warnings.push(obj) });
  return { logger, warnings };
}

const KEY = 'key_l';

/** A batch as the collector builds it for a request received at `receivedAtMs` (its rows' ingested_at). */
function batchAt(tenant: { orgId: string; workspaceId: string }, spans: number, receivedAtMs: number): SpanBatch {
  const batchId = newId('batch');
  const traceId = randomBytes(16).toString('hex');
  const n = normalizeTraceRequest(
    {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [{ spans: Array.from({ length: spans }, () => ({ traceId, spanId: randomBytes(8).toString('hex'), name: 'op', startTimeUnixNano: '1700000000000000000' })) }],
        },
      ],
    },
    { ...tenant, batchId, keyId: KEY, ingestedAtSec: Math.floor(receivedAtMs / 1000) },
  );
  return { v: 1, batchId, ...tenant, keyId: KEY, receivedAtMs, spanCount: n.accepted, bytes: n.bytes, minTimestampSec: n.minTimestampSec, maxTimestampSec: n.maxTimestampSec, groups: n.groups };
}

/** A batch accepted as the collector does it: intent, add, commit. */
async function accept(tenant: { orgId: string; workspaceId: string }, spans: number, options: { receivedAtMs?: number; commit?: boolean } = {}): Promise<SpanBatch> {
  const b = batchAt(tenant, spans, options.receivedAtMs ?? Date.now());
  await writeAcceptIntent(redis, prefix, b);
  const queued = await queue.add(b, { attempts: 3 });
  if (options.commit !== false) await commitAccepted(redis, prefix, { jobId: queued.jobId, batchId: b.batchId, workspaceId: b.workspaceId });
  return b;
}

async function clearPendingBatch(workspaceId: string, batchId: string): Promise<void> {
  await clearPending(redis, prefix, [{ workspaceId, batchId }]);
}

const noPending = async (workspaceId: string): Promise<boolean> => (await pendingSummaries(redis, prefix, [workspaceId])).get(workspaceId)?.batches === 0;

async function reconciliationRow(workspaceId: string, minuteMs: number): Promise<Record<string, unknown> | undefined> {
  const { rows } = await env.pool.query(
    `SELECT accepted::int, stored::int, dead_lettered::int, discarded::int, difference::int, first_flagged_at, checked_at
       FROM ingest_reconciliation WHERE workspace_id = $1 AND minute = $2`,
    [workspaceId, new Date(minuteMs)],
  );
  return rows[0] as Record<string, unknown> | undefined;
}

const options = (now: Date): { queuePrefix: string; settleMs: number; recheckMs: number; now: Date } => ({ queuePrefix: prefix, settleMs: 60_000, recheckMs: 3_600_000, now });

describe('the span writer and the ledger', () => {
  it('takes stored batches out of the pending set, and counts a batch whose collector never committed it', async () => {
    const at = minuteOf(Date.now()) - 40 * 60_000;
    await accept(other, 4, { receivedAtMs: at + 1_000 });
    const uncommitted = await accept(other, 3, { receivedAtMs: at + 2_000, commit: false });
    await waitFor(() => noPending(other.workspaceId), { what: 'the stored batches to leave the pending set' });
    await waitFor(async () => (await redis.exists(ledgerKeys(prefix).intent(uncommitted.batchId))) === 0, { what: 'the worker to count the uncommitted batch' });
    const live = await redis.hgetall(ledgerKeys(prefix).live);
    expect(Number(live[cellField({ minuteMs: at, ...other, keyId: KEY, kind: 'accepted', measure: 'spans' })])).toBe(7);
    expect(Number(live[cellField({ minuteMs: at, ...other, keyId: KEY, kind: 'accepted', measure: 'requests' })])).toBe(2);
  });
});

describe('reconciliation', () => {
  it('balances a minute once its batches are stored, and leaves one with a pending batch for later', async () => {
    const minute = minuteOf(Date.now()) - 10 * 60_000;
    await accept(ws, 5, { receivedAtMs: minute + 1_000 });
    await accept(ws, 6, { receivedAtMs: minute + 59_000 });
    await waitFor(() => noPending(ws.workspaceId), { what: 'the batches to be stored' });
    // In another workspace, a minute whose batch is accepted but not stored yet (it stays pending for the rest of the file).
    const later = minute + 2 * 60_000;
    const stuck = batchAt(other, 2, later + 5_000);
    await writeAcceptIntent(redis, prefix, stuck);
    await commitAccepted(redis, prefix, { jobId: stuck.batchId, batchId: stuck.batchId, workspaceId: other.workspaceId });

    const { logger, warnings } = capturingLogger();
    const metrics = createWorkerMetrics();
    const report = await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger, metrics }, options(new Date()));
    expect(report.flagged).toEqual([]);
    expect(await reconciliationRow(ws.workspaceId, minute)).toMatchObject({ accepted: 11, stored: 11, dead_lettered: 0, discarded: 0, difference: 0, first_flagged_at: null });
    expect(await reconciliationRow(other.workspaceId, later)).toBeUndefined();
    expect(report.waitingForLag).toBe(1);
    // an older minute of that workspace is compared all the same (it ended before the pending batch was accepted)
    expect(await reconciliationRow(other.workspaceId, minute - 30 * 60_000)).toMatchObject({ accepted: 7, stored: 7, difference: 0 });
    expect(warnings).toEqual([]);
    expect(await metrics.registry.getSingleMetricAsString('canopy_ledger_flagged_minutes')).toMatch(/canopy_ledger_flagged_minutes 0$/m);
  });

  it('flags a minute whose accepted spans are not all stored, and clears the flag when they arrive', async () => {
    const minute = minuteOf(Date.now()) - 20 * 60_000;
    await accept(ws, 4, { receivedAtMs: minute + 2_000 });
    await waitFor(() => noPending(ws.workspaceId), { what: 'the batch to be stored' });
    // 3 accepted spans that never reach ClickHouse
    await redis.hincrby(ledgerKeys(prefix).live, cellField({ minuteMs: minute, ...ws, keyId: KEY, kind: 'accepted', measure: 'spans' }), 3);

    const first = capturingLogger();
    const metrics = createWorkerMetrics();
    const checkedAt = new Date();
    const report = await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: first.logger, metrics }, options(checkedAt));
    expect(report.flagged.map((f) => [f.workspaceId, f.minuteMs, f.accepted, f.stored])).toEqual([[ws.workspaceId, minute, 7, 4]]);
    expect(first.warnings).toEqual([expect.objectContaining({ workspaceId: ws.workspaceId, accepted: 7, stored: 4, difference: 3 })]);
    const flagged = await reconciliationRow(ws.workspaceId, minute);
    expect(flagged).toMatchObject({ accepted: 7, stored: 4, difference: 3 });
    expect((flagged!.first_flagged_at as Date).getTime()).toBe(checkedAt.getTime());
    expect(await metrics.registry.getSingleMetricAsString('canopy_ledger_reconciled_minutes_total')).toContain('canopy_ledger_reconciled_minutes_total{result="flagged"} 1');
    expect(await metrics.registry.getSingleMetricAsString('canopy_ledger_flagged_spans')).toMatch(/canopy_ledger_flagged_spans 3$/m);

    // The missing spans arrive late (a replay, say): the next runs, within the recheck window, clear the flag.
    await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(batchAt(ws, 3, minute + 30_000).groups));
    const second = capturingLogger();
    const again = await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: second.logger }, options(new Date(checkedAt.getTime() + 30_000)));
    expect(again.flagged).toEqual([]);
    expect(second.warnings).toEqual([]);
    const cleared = await reconciliationRow(ws.workspaceId, minute);
    expect(cleared).toMatchObject({ accepted: 7, stored: 7, difference: 0 });
    expect((cleared!.first_flagged_at as Date).getTime()).toBe(checkedAt.getTime());
    // a balanced minute is not compared again
    expect((await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: quietLogger() }, options(new Date(checkedAt.getTime() + 60_000)))).checked).toBe(0);
  });

  it('counts dead-lettered and discarded spans against the minute their batch was accepted', async () => {
    const minute = minuteOf(Date.now()) - 30 * 60_000;
    await accept(ws, 2, { receivedAtMs: minute + 1_000 });
    await waitFor(() => noPending(ws.workspaceId), { what: 'the batch to be stored' });
    // two refused batches of 5 and 3 spans became dead letters (one discarded since); their accepted counts are in the ledger
    await redis.hincrby(ledgerKeys(prefix).live, cellField({ minuteMs: minute, ...ws, keyId: KEY, kind: 'accepted', measure: 'spans' }), 8);
    for (const [spans, status] of [
      [5, 'open'],
      [3, 'discarded'],
    ] as const) {
      await env.pool.query(
        `INSERT INTO dead_letters (id, org_id, workspace_id, key_id, batch_id, received_at, spans, bytes, attempts, error_code, error_message, status)
         VALUES ($1, $2, $3, 'key_l', $4, $5, $6, 0, 3, 'clickhouse_rejected', 'refused', $7)`,
        [newId('batch'), ws.orgId, ws.workspaceId, newId('batch'), new Date(minute + 20_000), spans, status],
      );
    }
    const report = await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: quietLogger() }, options(new Date()));
    expect(report.flagged).toEqual([]);
    expect(await reconciliationRow(ws.workspaceId, minute)).toMatchObject({ accepted: 10, stored: 2, dead_lettered: 5, discarded: 3, difference: 0 });
  });

  it('does not compare a minute that has not settled yet', async () => {
    const minute = minuteOf(Date.now());
    await accept(ws, 1, { receivedAtMs: minute + 500 });
    await waitFor(() => noPending(ws.workspaceId), { what: 'the batch to be stored' });
    await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: quietLogger() }, options(new Date(minute + 90_000)));
    expect(await reconciliationRow(ws.workspaceId, minute)).toBeUndefined();
    await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: quietLogger() }, options(new Date(minute + 120_000)));
    expect(await reconciliationRow(ws.workspaceId, minute)).toMatchObject({ accepted: 1, stored: 1, difference: 0 });
  });
});

describe('reconciliation with a workspace whose oldest batch stays pending', () => {
  it('still compares every other workspace once more of its minutes are due than one run compares', async () => {
    const org = await createTestOrg(env, ['stuck', 'fine']);
    const stuck = { orgId: org.orgId, workspaceId: org.workspaces.stuck!.id };
    const fine = { orgId: org.orgId, workspaceId: org.workspaces.fine!.id };
    const start = minuteOf(Date.now()) - 3 * 60 * 60_000;
    // A batch accepted at `start` that is never stored, then five later minutes of accepted spans in the same workspace.
    const pendingBatch = batchAt(stuck, 1, start + 1_000);
    await writeAcceptIntent(redis, prefix, pendingBatch);
    await commitAccepted(redis, prefix, { jobId: pendingBatch.batchId, batchId: pendingBatch.batchId, workspaceId: stuck.workspaceId });
    for (let i = 1; i <= 5; i++) await redis.hincrby(ledgerKeys(prefix).live, cellField({ minuteMs: start + i * 60_000, ...stuck, keyId: KEY, kind: 'accepted', measure: 'spans' }), 2);
    // the other workspace's minute sorts after all of them
    const minute = start + 10 * 60_000;
    await accept(fine, 3, { receivedAtMs: minute + 1_000 });
    await waitFor(() => noPending(fine.workspaceId), { what: 'the batch to be stored' });

    // One run compares at most 3 minutes: before the fix the stuck workspace's minutes took the whole page.
    const report = await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: quietLogger() }, { ...options(new Date()), maxMinutes: 3 });
    expect(await reconciliationRow(fine.workspaceId, minute)).toMatchObject({ accepted: 3, stored: 3, difference: 0 });
    expect(report.flagged).toEqual([]);
    expect(report.waitingForLag).toBeGreaterThanOrEqual(6); // the pending batch's own minute and the five after it
    for (let i = 0; i <= 5; i++) expect(await reconciliationRow(stuck.workspaceId, start + i * 60_000)).toBeUndefined();
    await clearPendingBatch(stuck.workspaceId, pendingBatch.batchId);
  });
});

describe('reconciliation of stored spans nothing counted as accepted', () => {
  it('flags a minute ClickHouse stored spans for without any accepted count, and re-compares one compared before its spans were stored', async () => {
    const org = await createTestOrg(env, ['lone']);
    const lone = { orgId: org.orgId, workspaceId: org.workspaces.lone!.id };
    const minute = minuteOf(Date.now()) - 2 * 60 * 60_000;
    // stored, but the collector's count never reached the ledger (its intent expired, say)
    await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(batchAt(lone, 4, minute + 10_000).groups));
    // a minute compared while all of its spans were dead letters, whose spans are stored since (a replay)
    const replayed = minute + 5 * 60_000;
    await env.pool.query(
      `INSERT INTO ingest_reconciliation (org_id, workspace_id, minute, accepted, stored, dead_lettered, discarded, difference, checked_at)
       VALUES ($1, $2, $3, 2, 0, 2, 0, 0, now())`,
      [lone.orgId, lone.workspaceId, new Date(replayed)],
    );
    await env.clickhouse.insertJsonEachRow('spans', groupsToJsonEachRow(batchAt(lone, 2, replayed + 10_000).groups));
    await redis.hincrby(ledgerKeys(prefix).live, cellField({ minuteMs: replayed, ...lone, keyId: KEY, kind: 'accepted', measure: 'spans' }), 2);

    const { logger, warnings } = capturingLogger();
    const report = await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger }, { ...options(new Date()), storedSweepIntervalMs: 0 });
    expect(report.storedOnly).toBe(2);
    const here = (f: { workspaceId: unknown }): boolean => f.workspaceId === lone.workspaceId; // earlier tests leave flags of their own
    expect(report.flagged.filter(here).map((f) => [f.minuteMs, f.accepted, f.stored])).toEqual([[minute, 0, 4]]);
    expect(warnings.filter(here)).toEqual([expect.objectContaining({ accepted: 0, stored: 4, difference: -4 })]);
    expect(await reconciliationRow(lone.workspaceId, minute)).toMatchObject({ accepted: 0, stored: 4, difference: -4 });
    // the re-compared minute now balances with what is stored instead of the dead letters
    expect(await reconciliationRow(lone.workspaceId, replayed)).toMatchObject({ accepted: 2, stored: 2, dead_lettered: 0, difference: 0 });
    // both are accounted for now: the next sweep finds nothing new
    expect((await reconcileLedger({ pool: env.pool, clickhouse: env.clickhouse, redis, logger: quietLogger() }, { ...options(new Date()), storedSweepIntervalMs: 0 })).storedOnly).toBe(0);
  });
});

describe('worker metrics', () => {
  it('serves /metrics, and a second worker on the same port runs on without them', async () => {
    const port = await freePort();
    const metrics = createWorkerMetrics();
    metrics.ledgerReconciledMinutes.inc({ result: 'balanced' }, 2);
    const server = await serveMetrics({ registry: metrics.registry, logger: quietLogger() }, { port, host: '127.0.0.1' });
    const { logger, warnings } = capturingLogger();
    const second = await serveMetrics({ registry: createWorkerMetrics().registry, logger }, { port, host: '127.0.0.1' });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('canopy_ledger_reconciled_minutes_total{result="balanced"} 2');
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      expect(warnings).toEqual([expect.objectContaining({ port })]);
    } finally {
      await second.close();
      await server.close();
    }
  });
});
