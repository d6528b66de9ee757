import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapOrganization, minuteOf, type BootstrapResult } from '@canopy/core';
import { createTestEnv, freePort, startNodeProcess, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import {
  ROOT,
  buildServices,
  createProcessRegistry,
  openQueue,
  reportFigures,
  settledCounts,
  sleep,
  startCollector,
  startDedicatedClickHouse,
  startWorker,
  stopTimed,
  storedCounts,
  type DedicatedClickHouse,
} from './harness.js';
import { startTraffic } from './traffic.js';

// The ingest ledger balances through faults. Spans flow through a real collector into real
// worker processes while a worker is SIGKILLed mid-batch, another dies right after its
// insert (before acknowledging), and ClickHouse — a dedicated server — is stopped for 12 s.
// Afterwards the ledger the query API serves must show every span the collector answered
// 2xx for as accepted and as stored, nothing queued, no lag, and reconciliation must have
// compared every one of those minutes and flagged none.

const OUTAGE_MS = 12_000;
/** Minutes are compared 2 s after they end (instead of 60 s), by a reconciliation every 2 s. */
const LEDGER = {
  CANOPY_LEDGER_SETTLE_MS: '2000',
  CANOPY_LEDGER_RECONCILE_INTERVAL_MS: '2000',
  CANOPY_LEDGER_FLUSH_INTERVAL_MS: '500',
  CANOPY_WORKER_METRICS_PORT: '0',
};

let clickhouse: DedicatedClickHouse;
let env: TestEnv;
let org: BootstrapResult;
let queue: ReturnType<typeof openQueue>;
let collectorPort: number;
let apiUrl: string;
const processes = createProcessRegistry();

beforeAll(async () => {
  buildServices();
  clickhouse = await startDedicatedClickHouse();
  env = await createTestEnv({ CANOPY_CLICKHOUSE_URL: clickhouse.url });
  org = await bootstrapOrganization(env.pool, { name: `ledger-${env.id}`, workspaceSlugs: ['prod'] });
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
  collectorPort = await freePort();
  const apiPort = await freePort();
  apiUrl = `http://127.0.0.1:${apiPort}`;
  processes.track(startCollector(env.env, collectorPort));
  processes.track(startNodeProcess(path.join(ROOT, 'query-api/dist/main.js'), { ...env.env, CANOPY_API_PORT: String(apiPort), CANOPY_API_HOST: '127.0.0.1' }));
  await waitForHttp(`http://127.0.0.1:${collectorPort}/readyz`);
  await waitForHttp(`${apiUrl}/readyz`);
});

afterAll(async () => {
  await processes.killAll();
  await queue?.close();
  await env?.cleanup();
  await clickhouse?.close();
});

interface Ledger {
  series: Array<{ minute: string; accepted: number; stored: number; queued: number }>;
  totals: { accepted: number; stored: number; deadLettered: number; discarded: number; queued: number; rejected: Record<string, number> };
  lag: { pendingBatches: number; lagMs: number };
  reconciliation: { checkedThrough: string | null; flagged: unknown[] };
}

async function ledger(fromMs: number): Promise<Ledger> {
  const res = await fetch(`${apiUrl}/api/v1/workspaces/${org.workspaces[0]!.id}/ingest?from=${fromMs}&to=${Date.now() + 60_000}`, { headers: { authorization: `Bearer ${org.ownerToken}` } });
  if (res.status !== 200) throw new Error(`GET ingest answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as Ledger;
}

const worker = (extra: Record<string, string> = {}): NodeProcess => processes.track(startWorker({ ...env.env, ...LEDGER }, { CANOPY_BATCH_MAX_WAIT_MS: '1000', ...extra }));
const ready = (w: NodeProcess): Promise<boolean> => waitFor(async () => w.output().includes('span writer consuming'), { timeoutMs: 20_000, what: 'a worker to start' });

describe('ingest ledger through faults', () => {
  it('ends balanced: accepted = stored = spans answered 2xx, nothing queued, no lag, every minute reconciled with no flag', async () => {
    const started = Date.now();
    const fromMs = minuteOf(started);
    const workspaceId = org.workspaces[0]!.id;
    const traffic = startTraffic({ url: `http://127.0.0.1:${collectorPort}/v1/traces`, key: org.workspaces[0]!.ingestKey, lanes: 2, spansPerRequest: 20, pauseMs: 150 });

    // 1. A worker SIGKILLed while it holds jobs it has not written.
    let w = worker();
    await ready(w);
    await waitFor(async () => (await storedCounts(env.clickhouse, org.org.id)).rows > 0 && (await queue.state()).active > 0, { timeoutMs: 30_000, what: 'a batch in progress' });
    const killedMidBatch = { activeJobs: (await queue.state()).active };
    expect((await stopTimed(w, 'SIGKILL')).exit).toBe('SIGKILL');

    // 2. A worker that dies right after ClickHouse accepted its insert, before completing (or settling) the jobs.
    const afterInsert = worker({ CANOPY_WORKER_FAULT: 'kill-after-insert' });
    expect(await afterInsert.exited, afterInsert.output()).toBe('SIGKILL');
    w = worker();
    await ready(w);
    await sleep(3_000);

    // 3. ClickHouse stopped while spans keep arriving, then started again on the same data.
    await clickhouse.stop();
    const downAt = Date.now();
    await sleep(OUTAGE_MS);
    await clickhouse.start();
    const downMs = Date.now() - downAt;
    await sleep(3_000);
    const stats = await traffic.stop();

    const counts = await settledCounts(env.clickhouse, { orgId: org.org.id, expected: stats.acknowledgedSpans, queue }, 120_000);
    // Wait for the ledger to settle: everything flushed and stored, and the last minute with traffic reconciled.
    let final: Ledger | undefined;
    const lastMinuteEnd = (l: Ledger): number => Date.parse(l.series.at(-1)?.minute ?? new Date(0).toISOString()) + 60_000;
    await waitFor(
      async () => {
        final = await ledger(fromMs);
        const through = final.reconciliation.checkedThrough ? Date.parse(final.reconciliation.checkedThrough) : 0;
        return final.totals.accepted === stats.acknowledgedSpans && final.totals.stored === stats.acknowledgedSpans && final.lag.pendingBatches === 0 && through >= lastMinuteEnd(final);
      },
      { timeoutMs: 120_000, intervalMs: 1_000, what: 'the ledger to balance and be reconciled' },
    ).catch(() => undefined);
    const reconciled = await env.pool.query<{ minutes: string; flagged: string; ledger_minutes: string }>(
      `SELECT (SELECT count(*) FROM ingest_reconciliation WHERE workspace_id = $1) AS minutes,
              (SELECT count(*) FROM ingest_reconciliation WHERE workspace_id = $1 AND difference <> 0) AS flagged,
              (SELECT count(DISTINCT minute) FROM ingest_ledger WHERE workspace_id = $1 AND kind = 'accepted') AS ledger_minutes`,
      [workspaceId],
    );
    const r = reconciled.rows[0]!;

    reportFigures('ingest-ledger', {
      sent: stats.acknowledgedSpans,
      requests: stats.acknowledgedRequests,
      outcomes: stats.outcomes,
      killedMidBatch,
      downMs,
      found: counts,
      ledger: final ? { totals: final.totals, lag: final.lag, minutes: final.series.length, checkedThrough: final.reconciliation.checkedThrough, flagged: final.reconciliation.flagged.length } : null,
      reconciledMinutes: Number(r.minutes),
      flaggedMinutes: Number(r.flagged),
      totalMs: Date.now() - started,
    });
    expect(stats.failed).toEqual([]);
    expect(stats.acknowledgedSpans).toBeGreaterThan(2_000);
    expect(counts).toMatchObject({ rows: stats.acknowledgedSpans, distinctSpans: stats.acknowledgedSpans });
    expect(final?.totals).toEqual({
      accepted: stats.acknowledgedSpans,
      rejected: { invalid: 0, quota: 0, rateLimit: 0, tooLargeRequests: 0 },
      stored: stats.acknowledgedSpans,
      deadLettered: 0,
      discarded: 0,
      queued: 0,
    });
    for (const m of final!.series) expect(m, m.minute).toMatchObject({ queued: 0, stored: m.accepted });
    expect(final?.lag).toEqual({ pendingBatches: 0, oldestPendingReceivedAt: null, lagMs: 0 });
    expect(Date.parse(final!.reconciliation.checkedThrough!)).toBeGreaterThanOrEqual(lastMinuteEnd(final!));
    expect(final?.reconciliation.flagged).toEqual([]);
    expect({ minutes: Number(r.minutes), flagged: Number(r.flagged) }).toEqual({ minutes: Number(r.ledger_minutes), flagged: 0 });
    expect(Number(r.minutes)).toBeGreaterThanOrEqual(final!.series.length);
  }, 360_000);
});
