import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, createTestOrg, freePort, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import {
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
  type DedicatedClickHouse,
} from './harness.js';
import { startTraffic } from './traffic.js';

// ClickHouse — a dedicated server on its own port and data directory — goes away for 30 s
// (off the network, then SIGTERM once it finished what it had received; see
// DedicatedClickHouse.stop) while spans keep arriving through a
// real collector. Redis buffers the batches; the workers put their jobs back without
// spending attempts, for half as long as the outage has lasted (at most 30 s), and every
// batch lands exactly once when ClickHouse is back with the same data directory.

const OUTAGE_MS = 30_000;

let clickhouse: DedicatedClickHouse;
let env: TestEnv;
let org: Awaited<ReturnType<typeof createTestOrg>>;
let queue: ReturnType<typeof openQueue>;
let port: number;
const processes = createProcessRegistry();

beforeAll(async () => {
  buildServices();
  clickhouse = await startDedicatedClickHouse();
  env = await createTestEnv({ CANOPY_CLICKHOUSE_URL: clickhouse.url });
  org = await createTestOrg(env, ['prod']);
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
  port = await freePort();
  processes.track(startCollector(env.env, port));
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
});

afterAll(async () => {
  await processes.killAll();
  await queue?.close();
  await env?.cleanup();
  await clickhouse?.close();
});

describe('ClickHouse outage', () => {
  it('stores every span sent across a 30 s ClickHouse stop exactly once, and a worker stopped during the outage exits 0', async () => {
    const started = Date.now();
    let worker: NodeProcess = processes.track(startWorker(env.env));
    const traffic = startTraffic({ url: `http://127.0.0.1:${port}/v1/traces`, key: org.workspaces.prod!.ingestKey.key, lanes: 2, spansPerRequest: 20, pauseMs: 100 });

    await waitFor(async () => traffic.stats.acknowledgedRequests >= 10, { timeoutMs: 20_000, what: 'traffic to flow' });
    await clickhouse.stop();
    const downAt = Date.now();

    // Halfway through, a worker is stopped with SIGTERM and replaced: its jobs fail over to the next one.
    await sleep(OUTAGE_MS / 2);
    const stopped = await stopTimed(worker, 'SIGTERM');
    worker = processes.track(startWorker(env.env));
    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));

    await clickhouse.start();
    const downMs = Date.now() - downAt;
    await sleep(3_000);
    const stats = await traffic.stop();
    const counts = await settledCounts(env.clickhouse, { orgId: org.orgId, expected: stats.acknowledgedSpans, queue }, 120_000);
    const state = await queue.state();

    reportFigures('clickhouse-outage', { sent: stats.acknowledgedSpans, requests: stats.acknowledgedRequests, outcomes: stats.outcomes, downMs, drainMs: counts.waitedMs, found: counts, workerStop: stopped, totalMs: Date.now() - started });
    expect(stopped.exit, worker.output()).toBe(0);
    expect(stopped.ms).toBeLessThan(10_000);
    expect(stats.failed).toEqual([]);
    // Redis was up, so the collector took every request (a 503 could only be load shedding, which the client retries).
    for (const outcome of Object.keys(stats.outcomes)) expect(['200', '503']).toContain(outcome);
    expect(state).toEqual({ unfinished: 0, active: 0, failed: 0 });
    expect(counts).toMatchObject({ rows: stats.acknowledgedSpans, distinctSpans: stats.acknowledgedSpans, usageSpans: stats.acknowledgedSpans });
    expect(worker.output()).toMatch(/ClickHouse unavailable; \d+ jobs will be retried/);
  }, 240_000);
});
