import type { Redis } from 'ioredis';
import { AllTenants, createRedis, createSpanQueue, sql, type SpanBatch, type SpanQueue } from '@canopy/core';
import { createTestEnv, createTestOrg, waitFor, type TestEnv } from '@canopy/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSpanWriter, type FlushReport, type SpanWriter, type SpanWriterOptions } from '../src/index.js';
import { countStored, makePoisonBatch, makeSpanBatch, queueState, quietLogger } from './helpers.js';

let env: TestEnv;
let queueRedis: Redis;
let workerRedis: Redis;
let queue: SpanQueue;
let writer: SpanWriter | undefined;

beforeAll(async () => {
  env = await createTestEnv();
  queueRedis = createRedis(env.config.redis.url);
  workerRedis = createRedis(env.config.redis.url, { forWorker: true });
  queue = createSpanQueue(queueRedis, env.config.redis.queuePrefix);
});
afterEach(async () => {
  await writer?.close();
  writer = undefined;
});
afterAll(async () => {
  await queue?.close();
  queueRedis?.disconnect();
  workerRedis?.disconnect();
  await env?.cleanup();
});

/** Starts a writer on this file's queue and records every flush. */
function startWriter(options: Partial<SpanWriterOptions> = {}): FlushReport[] {
  const reports: FlushReport[] = [];
  writer = createSpanWriter(
    { clickhouse: env.clickhouse, connection: workerRedis, logger: quietLogger() },
    {
      queuePrefix: env.config.redis.queuePrefix,
      concurrency: 64,
      batchMaxRows: 100_000,
      batchMaxBytes: 64 * 1024 * 1024,
      batchMaxWaitMs: 1_000,
      onFlush: (r) => reports.push(r),
      ...options,
    },
  );
  return reports;
}

async function enqueue(batches: SpanBatch[], attempts = 5): Promise<void> {
  for (const b of batches) await queue.add(b, { attempts });
}

const drained = async (): Promise<boolean> => (await queueState(queue.queue)).unfinished === 0;

describe('span writer', () => {
  it('stores queued batches with their tenant columns and usage, several jobs per insert', async () => {
    const org = await createTestOrg(env, ['dev', 'prod']);
    const dev = { orgId: org.orgId, workspaceId: org.workspaces.dev!.id };
    const prod = { orgId: org.orgId, workspaceId: org.workspaces.prod!.id };
    const batches = [
      ...Array.from({ length: 6 }, () => makeSpanBatch(dev, { spans: 25, service: 'checkout' })),
      ...Array.from({ length: 6 }, () => makeSpanBatch(prod, { spans: 25, service: 'billing' })),
    ];
    await enqueue(batches);
    const reports = startWriter();

    await waitFor(drained, { what: 'queue to drain' });
    const perWorkspace = await env.clickhouse.query<{ workspace_id: string; service_name: string; spans: string; batches: string }>(
      AllTenants,
      sql`SELECT workspace_id, service_name, count() AS spans, uniqExact(batch_id) AS batches FROM spans
          WHERE ${sql.allTenants()} AND org_id = ${org.orgId} GROUP BY workspace_id, service_name ORDER BY service_name`,
    );
    expect(perWorkspace).toEqual([
      { workspace_id: prod.workspaceId, service_name: 'billing', spans: '150', batches: '6' },
      { workspace_id: dev.workspaceId, service_name: 'checkout', spans: '150', batches: '6' },
    ]);
    const usage = await env.clickhouse.query<{ workspace_id: string; spans: string }>(
      { orgId: org.orgId, workspaceIds: [dev.workspaceId, prod.workspaceId] },
      sql`SELECT workspace_id, sum(spans) AS spans FROM usage_daily WHERE ${sql.tenant({ orgId: org.orgId, workspaceIds: [dev.workspaceId, prod.workspaceId] })}
          GROUP BY workspace_id ORDER BY workspace_id`,
    );
    expect(usage.map((u) => Number(u.spans))).toEqual([150, 150]);
    expect(await countStored(env.clickhouse, org.orgId)).toEqual({ rows: 300, distinctSpans: 300, usageSpans: 300 });

    const inserts = reports.flatMap((r) => r.inserts);
    expect(inserts.every((i) => i.status === 'ok')).toBe(true);
    expect(inserts.reduce((n, i) => n + i.jobs, 0)).toBe(12);
    expect(inserts.length).toBeLessThan(12);
    expect(Math.max(...inserts.map((i) => i.rows))).toBeGreaterThanOrEqual(50);
  });

  it('flushes as soon as the pending jobs fill the worker, without waiting for the timer', async () => {
    const tenant = { orgId: 'org_full', workspaceId: 'ws_full' };
    await enqueue(Array.from({ length: 8 }, () => makeSpanBatch(tenant, { spans: 5 })));
    const started = Date.now();
    const reports = startWriter({ concurrency: 4, batchMaxWaitMs: 30_000 });

    await waitFor(drained, { what: 'queue to drain' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(reports.map((r) => [r.reason, r.jobs])).toEqual([
      ['jobs', 4],
      ['jobs', 4],
    ]);
    expect((await countStored(env.clickhouse, tenant.orgId)).rows).toBe(40);
  });

  it('stores the good jobs of a flush that also carries a batch ClickHouse rejects', async () => {
    const tenant = { orgId: 'org_poison', workspaceId: 'ws_poison' };
    const good = Array.from({ length: 5 }, () => makeSpanBatch(tenant, { spans: 10 }));
    const poison = makePoisonBatch(tenant);
    await enqueue([...good.slice(0, 2), poison, ...good.slice(2)], 1);
    const reports = startWriter({ concurrency: 6, batchMaxWaitMs: 30_000 });

    await waitFor(drained, { what: 'queue to drain' });
    const [flush] = reports;
    expect(flush?.jobs).toBe(6);
    expect(flush?.inserts.map((i) => [i.jobs, i.status]).sort()).toEqual([
      [1, 'ok'],
      [1, 'ok'],
      [1, 'ok'],
      [1, 'ok'],
      [1, 'ok'],
      [1, 'rejected'],
      [6, 'rejected'],
    ]);
    expect(await countStored(env.clickhouse, tenant.orgId)).toEqual({ rows: 50, distinctSpans: 50, usageSpans: 50 });
    const job = await queue.queue.getJob(poison.batchId);
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toMatch(/insert into spans failed/);
  });

  it('on close, flushes the jobs it holds at once and completes them', async () => {
    const tenant = { orgId: 'org_close', workspaceId: 'ws_close' };
    await enqueue(Array.from({ length: 3 }, () => makeSpanBatch(tenant, { spans: 4 })));
    const reports = startWriter({ batchMaxWaitMs: 60_000 });
    await waitFor(async () => (await queue.queue.getJobCounts('active')).active === 3, { what: 'jobs to be active' });

    const closing = writer!.close();
    const started = Date.now();
    await closing;
    await writer!.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(reports.map((r) => [r.reason, r.jobs])).toEqual([['close', 3]]);
    expect(await drained()).toBe(true);
    expect((await countStored(env.clickhouse, tenant.orgId)).rows).toBe(12);
  });
});
