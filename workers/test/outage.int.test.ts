import type { Redis } from 'ioredis';
import { createClickHouse, createRedis, createSpanQueue, type ClickHouse, type SpanQueue } from '@canopy/core';
import { createTestEnv, waitFor, type TestEnv, startTcpProxy, type TcpProxy } from '@canopy/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSpanWriter, type FlushReport, type SpanWriter } from '../src/index.js';
import { countStored, makeSpanBatch, queueState, quietLogger } from './helpers.js';

let env: TestEnv;
let proxy: TcpProxy;
let clickhouse: ClickHouse;
let queueRedis: Redis;
let workerRedis: Redis;
let queue: SpanQueue;
let writer: SpanWriter | undefined;

beforeAll(async () => {
  env = await createTestEnv();
  proxy = await startTcpProxy(new URL(env.config.clickhouse.url), 8123);
  clickhouse = createClickHouse({ ...env.config.clickhouse, url: proxy.url, requestTimeoutMs: 5_000 });
  queueRedis = createRedis(env.config.redis.url);
  workerRedis = createRedis(env.config.redis.url, { forWorker: true });
  queue = createSpanQueue(queueRedis, env.config.redis.queuePrefix);
});
afterAll(async () => {
  await writer?.close();
  await queue?.close();
  queueRedis?.disconnect();
  workerRedis?.disconnect();
  await clickhouse?.close();
  await proxy?.close();
  await env?.cleanup();
});

describe('ClickHouse outage', () => {
  it('delays the jobs without spending attempts and stores each batch exactly once when ClickHouse is back', async () => {
    const tenant = { orgId: 'org_outage', workspaceId: 'ws_outage' };
    const reports: FlushReport[] = [];
    proxy.cut();
    for (let i = 0; i < 10; i++) await queue.add(makeSpanBatch(tenant, { spans: 20 }), { attempts: 40 });
    writer = createSpanWriter(
      { clickhouse, connection: workerRedis, logger: quietLogger() },
      {
        queuePrefix: env.config.redis.queuePrefix,
        concurrency: 16,
        batchMaxRows: 100_000,
        batchMaxBytes: 64 * 1024 * 1024,
        batchMaxWaitMs: 100,
        onFlush: (r) => reports.push(r),
      },
    );

    // Down long enough for several failed attempts per job.
    await waitFor(async () => reports.filter((r) => r.outcomes.retryable > 0).length >= 3, { timeoutMs: 20_000, what: 'failed attempts' });
    expect((await queueState(queue.queue)).failed).toBe(0);
    // An outage delays jobs without spending their attempts, so no outage is long enough to fail one.
    const waiting = await queue.queue.getJobs(['delayed', 'wait', 'active']);
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.map((j) => j.attemptsMade)).toEqual(waiting.map(() => 0));
    proxy.restore();

    await waitFor(async () => (await queueState(queue.queue)).unfinished === 0, { timeoutMs: 30_000, what: 'queue to drain' });
    expect(await queueState(queue.queue)).toEqual({ unfinished: 0, failed: 0, completed: 0 });
    expect(await countStored(env.clickhouse, tenant.orgId)).toEqual({ rows: 200, distinctSpans: 200, usageSpans: 200 });
    expect(reports.some((r) => r.inserts.some((i) => i.status === 'ok'))).toBe(true);
  });
});
