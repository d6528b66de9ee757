import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, createTestOrg, freePort, waitFor, waitForHttp, type NodeProcess, type TestEnv } from '@canopy/core/testing';
import {
  buildServices,
  createProcessRegistry,
  duplicateSpans,
  openQueue,
  reportFigures,
  settledCounts,
  sleep,
  startCollector,
  startDedicatedRedis,
  startWorker,
  stopTimed,
  storedCounts,
  type DedicatedRedis,
} from './harness.js';
import { startTraffic } from './traffic.js';

// Redis — a dedicated server with AOF on and `appendfsync always` — is killed with SIGKILL
// (no shutdown, no final fsync) and started again on the same port and directory while a
// client keeps exporting. The collector answers 503 + Retry-After while Redis is down and
// 2xx again after; a 2xx means the batch was in the AOF on disk, so every acknowledged span
// is stored, and no batch twice. (With `--appendonly no` both cases below lose spans.)

const DOWN_MS = 4_000;

let redis: DedicatedRedis;
let env: TestEnv;
let queue: ReturnType<typeof openQueue>;
let port: number;
let collector: NodeProcess;
const processes = createProcessRegistry();

beforeAll(async () => {
  buildServices();
  redis = await startDedicatedRedis();
  env = await createTestEnv({ CANOPY_REDIS_URL: redis.url });
  queue = openQueue(env.config.redis.url, env.config.redis.queuePrefix);
  port = await freePort();
  collector = processes.track(startCollector(env.env, port));
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
});

afterAll(async () => {
  await processes.killAll();
  await queue?.close();
  await env?.cleanup();
  await redis?.close();
});

/** Traffic → SIGKILL Redis → 503s → restart on the same AOF → 2xx again; returns what was sent and found. */
async function crashRedisUnderTraffic(options: { fault: string; workerBeforeCrash: Record<string, string> | null }): Promise<void> {
  const started = Date.now();
  const org = await createTestOrg(env, ['prod']);
  let worker = options.workerBeforeCrash ? processes.track(startWorker(env.env, options.workerBeforeCrash)) : null;
  if (worker) await waitFor(async () => worker!.output().includes('span writer consuming'), { timeoutMs: 20_000, what: 'the worker to start' });
  const traffic = startTraffic({ url: `http://127.0.0.1:${port}/v1/traces`, key: org.workspaces.prod!.ingestKey.key, lanes: 3, spansPerRequest: 25, pauseMs: 20 });
  await waitFor(async () => traffic.stats.acknowledgedRequests >= 30, { timeoutMs: 20_000, what: 'traffic to flow' });

  const queuedAtKill = await queue.state();
  const storedBeforeKill = (await storedCounts(env.clickhouse, org.orgId)).rows;
  const ackedBeforeKill = traffic.stats.acknowledgedSpans;
  await redis.kill();
  const killedAt = Date.now();
  await waitFor(async () => (traffic.stats.outcomes['503'] ?? 0) > 0, { timeoutMs: 10_000, what: 'a 503 from the collector' });
  const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
  await sleep(Math.max(0, killedAt + DOWN_MS - Date.now()));

  await redis.start();
  const downMs = Date.now() - killedAt;
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
  worker ??= processes.track(startWorker(env.env));
  const ackedAtRestart = traffic.stats.acknowledgedRequests;
  await waitFor(async () => traffic.stats.acknowledgedRequests >= ackedAtRestart + 30, { timeoutMs: 30_000, what: '2xx again after the restart' });
  const stats = await traffic.stop();
  const counts = await settledCounts(env.clickhouse, { orgId: org.orgId, expected: stats.acknowledgedSpans, queue }, 60_000);
  const state = await queue.state();
  const workerStop = await stopTimed(worker, 'SIGTERM');
  const duplicates = counts.rows > counts.distinctSpans ? await duplicateSpans(env.clickhouse, org.orgId) : [];

  reportFigures(options.fault, {
    sent: stats.acknowledgedSpans,
    ackedBeforeKill,
    notYetInClickHouseAtKill: ackedBeforeKill - storedBeforeKill,
    jobsInRedisAtKill: queuedAtKill,
    requests: stats.acknowledgedRequests,
    retries: stats.retries,
    outcomes: stats.outcomes,
    downMs,
    drainMs: counts.waitedMs,
    found: counts,
    resentSpans: stats.resentSpanIds.size,
    duplicatedSpans: duplicates.length,
    workerStop,
    totalMs: Date.now() - started,
  });
  expect(ackedBeforeKill - storedBeforeKill).toBeGreaterThan(0); // acknowledged spans ClickHouse did not have yet
  if (options.workerBeforeCrash) expect(queuedAtKill.active).toBeGreaterThan(0); // held by the worker when Redis died
  expect(readyz.status).toBe(503);
  expect(stats.failed).toEqual([]);
  // Only 2xx and retryable answers; the collector itself stayed up, so no refused connection either.
  expect(Object.keys(stats.outcomes).sort()).toEqual(['200', '503']);
  expect(stats.outcomes['503']).toBeGreaterThan(0);
  expect(state).toEqual({ unfinished: 0, active: 0, failed: 0 });
  // Nothing lost: every acknowledged span is there, and the usage rollup counts exactly the stored rows.
  expect(counts.distinctSpans).toBe(stats.acknowledgedSpans);
  expect(counts.usageSpans).toBe(counts.rows);
  // Nothing duplicated, including spans the client re-sent after a 503 whose batch Redis had in
  // fact persisted before it died: the collector recognises the identical re-send (resend.int.test.ts).
  expect(duplicates).toEqual([]);
  expect(workerStop.exit, worker.output()).toBe(0);
}

describe('Redis crash (SIGKILL, AOF with appendfsync always)', () => {
  it('brings back from the AOF every acknowledged batch no worker had taken yet', async () => {
    // No worker until Redis is back: the acknowledged batches exist only in Redis when it dies.
    await crashRedisUnderTraffic({ fault: 'redis-crash-backlog', workerBeforeCrash: null });
  }, 120_000);

  it('finishes the batches a running worker held when Redis died, once: their acks fail, they come back and are found stored', async () => {
    // Batches wait up to 2 s in the worker, so at the kill it holds acknowledged spans it has not written.
    await crashRedisUnderTraffic({ fault: 'redis-crash-worker-running', workerBeforeCrash: { CANOPY_BATCH_MAX_WAIT_MS: '2000' } });
  }, 120_000);

  it('lets the collector stop cleanly afterwards', async () => {
    expect((await stopTimed(collector, 'SIGTERM')).exit, collector.output()).toBe(0);
  });
});
