import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  SPANS_QUEUE,
  StorageError,
  createClickHouse,
  createPgPool,
  createRedis,
  createSpanQueue,
  markDeadLetterReplayed,
  markPending,
  pendingKey,
  replayJobId,
  type ClickHouse,
  type PgPool,
  type SpanBatch,
  type SpanQueue,
} from '@canopy/core';
import { createTestEnv, createTestOrg, waitFor, type TestEnv, startTcpProxy, type TcpProxy } from '@canopy/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterKeeper, createSpanWriter, FAILED_JOB_ERROR_CODE, insertBatches, sweepFailedJobs, type SpanWriter } from '../src/index.js';
import { countStored, makePoisonBatch, makeSpanBatch, queueState, quietLogger, type Tenant } from './helpers.js';

let env: TestEnv;
let tenant: Tenant;
let other: Tenant;
let redis: Redis;
let workerRedis: Redis;
let queue: SpanQueue;
let writer: SpanWriter | undefined;
let proxy: TcpProxy;
let proxiedPool: PgPool;

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['dev', 'prod']);
  tenant = { orgId: org.orgId, workspaceId: org.workspaces.dev!.id };
  other = { orgId: org.orgId, workspaceId: org.workspaces.prod!.id };
  redis = createRedis(env.config.redis.url);
  workerRedis = createRedis(env.config.redis.url, { forWorker: true });
  queue = createSpanQueue(redis, env.config.redis.queuePrefix);
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  proxy = await startTcpProxy(new URL(env.config.postgres.url), 5432);
  proxiedPool = createPgPool(proxy.url, 2);
});
afterEach(async () => {
  await writer?.close();
  writer = undefined;
});
afterAll(async () => {
  await queue?.close();
  redis?.disconnect();
  workerRedis?.disconnect();
  await proxiedPool?.end();
  await proxy?.close();
  await env?.cleanup();
});

const prefix = (): string => env.config.redis.queuePrefix;
const keeper = (pool: PgPool = env.pool, clickhouse: ClickHouse = env.clickhouse) =>
  createDeadLetterKeeper({ pool, redis: workerRedis, clickhouse, logger: quietLogger() }, { queuePrefix: prefix() });

function startWriter(pool: PgPool = env.pool, ledgerRedis?: Redis): void {
  writer = createSpanWriter(
    { clickhouse: env.clickhouse, connection: workerRedis, logger: quietLogger(), deadLetters: keeper(pool), ...(ledgerRedis ? { ledgerRedis } : {}) },
    { queuePrefix: prefix(), concurrency: 16, batchMaxRows: 100_000, batchMaxBytes: 64 * 1024 * 1024, batchMaxWaitMs: 200 },
  );
}

interface Row {
  id: string;
  status: string;
  attempts: number;
  spans: number;
  error_code: string;
  error_message: string;
  payload: unknown;
}

async function deadLetterOf(batchId: string): Promise<Row | undefined> {
  const { rows } = await env.pool.query<Row>('SELECT id, status, attempts, spans, error_code, error_message, payload FROM dead_letters WHERE batch_id = $1', [batchId]);
  return rows[0];
}

const isPending = async (t: Tenant, batchId: string): Promise<boolean> => (await redis.zscore(pendingKey(prefix(), t.workspaceId), batchId)) !== null;

describe('a batch ClickHouse refuses on every attempt', () => {
  it('becomes an open dead letter after its last attempt; the job completes, nothing is left failed, and good batches beside it are stored', async () => {
    const poison = makePoisonBatch(tenant);
    const good = makeSpanBatch(other, { spans: 7 });
    for (const b of [poison, good]) {
      await markPending(redis, prefix(), b);
      await queue.add(b, { attempts: 2 });
    }
    startWriter();

    const kept = await waitFor(async () => deadLetterOf(poison.batchId), { timeoutMs: 20_000, what: 'the dead letter' });
    expect(kept).toMatchObject({ status: 'open', attempts: 2, spans: 1, error_code: 'clickhouse_rejected', payload: poison });
    expect(kept.error_message).toMatch(/insert into spans failed/);
    await waitFor(async () => (await queueState(queue.queue)).unfinished === 0, { what: 'queue to drain' });
    expect(await queueState(queue.queue)).toEqual({ unfinished: 0, failed: 0, completed: 0 });
    expect(await isPending(tenant, poison.batchId)).toBe(false);
    expect(await countStored(env.clickhouse, other.orgId)).toEqual({ rows: 7, distinctSpans: 7, usageSpans: 7 });
    expect(await deadLetterOf(good.batchId)).toBeUndefined();
  });

  it('stays in Redis without spending attempts while Postgres is down, and is kept once it is back', async () => {
    const poison = makePoisonBatch(tenant);
    proxy.cut();
    await queue.add(poison, { attempts: 2 });
    startWriter(proxiedPool);

    // Both attempts spent, then the dead letter cannot be written: the job goes back to delayed, never to failed.
    await waitFor(
      async () => {
        const job = await queue.queue.getJob(poison.batchId);
        return job && job.attemptsMade === 1 && job.attemptsStarted >= 3;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: 'a redelivery after the dead letter failed' },
    );
    const job = (await queue.queue.getJob(poison.batchId))!;
    expect(await job.getState()).not.toBe('failed');
    expect((await queueState(queue.queue)).failed).toBe(0);
    expect(await deadLetterOf(poison.batchId)).toBeUndefined();

    proxy.restore();
    await waitFor(async () => deadLetterOf(poison.batchId), { timeoutMs: 20_000, what: 'the dead letter once Postgres is back' });
    await waitFor(async () => (await queueState(queue.queue)).unfinished === 0, { what: 'queue to drain' });
    expect(await queueState(queue.queue)).toEqual({ unfinished: 0, failed: 0, completed: 0 });
    expect((await deadLetterOf(poison.batchId))!.attempts).toBe(2);
  });
});

describe('a replayed batch', () => {
  it('is not stored twice when ClickHouse already holds it (the replay job is checked like a redelivery)', async () => {
    const org = await createTestOrg(env, ['replays']);
    const t = { orgId: org.orgId, workspaceId: org.workspaces.replays!.id };
    const batch = makeSpanBatch(t, { spans: 6 });
    startWriter();
    await queue.add(batch, { attempts: 2 });
    await waitFor(async () => (await countStored(env.clickhouse, t.orgId)).rows === 6, { what: 'the batch to be stored' });
    await queue.add(batch, { attempts: 2, jobId: replayJobId(batch.batchId, 1) });
    await waitFor(async () => (await queueState(queue.queue)).unfinished === 0, { what: 'the replay to complete' });
    expect(await countStored(env.clickhouse, t.orgId)).toEqual({ rows: 6, distinctSpans: 6, usageSpans: 6 });
  });
});

describe('a stored batch whose ledger settle fails', () => {
  it('is put back without spending an attempt, even on its last one, and settled once Redis answers', async () => {
    const org = await createTestOrg(env, ['settles']);
    const t = { orgId: org.orgId, workspaceId: org.workspaces.settles!.id };
    const redisProxy = await startTcpProxy(new URL(env.config.redis.url), 6379);
    const ledgerRedis = createRedis(redisProxy.url);
    ledgerRedis.on('error', () => undefined);
    try {
      const batch = makeSpanBatch(t, { spans: 4 });
      await markPending(redis, prefix(), batch);
      redisProxy.cut();
      await queue.add(batch, { attempts: 1 });
      startWriter(env.pool, ledgerRedis);

      await waitFor(async () => (await countStored(env.clickhouse, t.orgId)).rows === 4, { timeoutMs: 20_000, what: 'the batch to be stored' });
      const state = await waitFor(
        async () => {
          const s = await (await queue.queue.getJob(batch.batchId))?.getState();
          return s === 'delayed' || s === 'failed' ? s : undefined;
        },
        { timeoutMs: 20_000, what: 'the job to be put back (or failed)' },
      );
      expect(state).toBe('delayed');
      expect((await queue.queue.getJob(batch.batchId))!.attemptsMade).toBe(0);
      expect(await isPending(t, batch.batchId)).toBe(true);

      redisProxy.restore();
      await waitFor(async () => (await queue.queue.getJob(batch.batchId)) === undefined, { timeoutMs: 30_000, what: 'the redelivered job to complete' });
      expect(await isPending(t, batch.batchId)).toBe(false);
      expect(await countStored(env.clickhouse, t.orgId)).toEqual({ rows: 4, distinctSpans: 4, usageSpans: 4 });
      expect((await queueState(queue.queue)).failed).toBe(0);
      expect(await deadLetterOf(batch.batchId)).toBeUndefined();
    } finally {
      ledgerRedis.disconnect();
      await redisProxy.close();
    }
  });
});

describe('the dead-letter keeper', () => {
  it('keeps nothing while ClickHouse cannot say whether it holds the batch (clickhouse_unavailable: retry later)', async () => {
    const chProxy = await startTcpProxy(new URL(env.config.clickhouse.url), 8123);
    const unreachable = createClickHouse({ ...env.config.clickhouse, url: chProxy.url, requestTimeoutMs: 5_000 });
    chProxy.cut();
    try {
      const batch = makeSpanBatch(tenant, { spans: 1 });
      const err = await keeper(env.pool, unreachable)
        .keep({ batch, attempts: 1, error: { code: 'clickhouse_rejected', message: 'x' }, jobId: batch.batchId })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('clickhouse_unavailable');
      expect(await deadLetterOf(batch.batchId)).toBeUndefined();
    } finally {
      await unreachable.close();
      await chProxy.close();
    }
  });

  it('says postgres_unavailable (retry later) when Postgres cannot be reached', async () => {
    proxy.cut();
    try {
      const batch = makeSpanBatch(tenant, { spans: 1 });
      const err = await keeper(proxiedPool)
        .keep({ batch, attempts: 1, error: { code: 'clickhouse_rejected', message: 'x' }, jobId: batch.batchId })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as StorageError).code).toBe('postgres_unavailable');
    } finally {
      proxy.restore();
    }
  });

  it('completes a batch of a workspace deleted since, keeping nothing', async () => {
    const gone = makeSpanBatch({ orgId: tenant.orgId, workspaceId: 'ws_deleted_since' }, { spans: 1 });
    expect(await keeper().keep({ batch: gone, attempts: 1, error: { code: 'clickhouse_rejected', message: 'x' }, jobId: gone.batchId })).toBe('workspace_deleted');
  });
});

describe('sweepFailedJobs', () => {
  /** Fails every job once, as BullMQ did before dead letters: they land in the failed set. */
  async function failJobs(count: number): Promise<void> {
    const failing = new Worker(
      SPANS_QUEUE,
      async () => {
        throw new Error('Code: 395, e.displayText() = DB::Exception: refused');
      },
      { connection: workerRedis, prefix: prefix() },
    );
    await waitFor(async () => (await queueState(queue.queue)).failed >= count, { what: 'jobs to fail' });
    await failing.close();
  }

  it('moves failed span batches into dead letters and removes them from Redis only after; other failed jobs stay', async () => {
    const batches = [makeSpanBatch(tenant, { spans: 3 }), makeSpanBatch(tenant, { spans: 2 })];
    for (const b of batches) {
      await markPending(redis, prefix(), b);
      await queue.add(b, { attempts: 1 });
    }
    await queue.queue.add('batch', { v: 99, junk: true }, { jobId: 'not-a-batch', attempts: 1, removeOnFail: false });
    await failJobs(3);

    // Postgres down: nothing moves, nothing is removed.
    proxy.cut();
    try {
      const down = await sweepFailedJobs({ queue: queue.queue, deadLetters: keeper(proxiedPool), logger: quietLogger() });
      expect(down).toEqual({ moved: 0, stored: 0, superseded: 0, notBatches: 1, errors: 2 });
      expect((await queueState(queue.queue)).failed).toBe(3);
    } finally {
      proxy.restore();
    }

    const report = await sweepFailedJobs({ queue: queue.queue, deadLetters: keeper(), logger: quietLogger() });
    expect(report).toEqual({ moved: 2, stored: 0, superseded: 0, notBatches: 1, errors: 0 });
    for (const b of batches) {
      expect(await deadLetterOf(b.batchId)).toMatchObject({ status: 'open', attempts: 1, spans: b.spanCount, error_code: FAILED_JOB_ERROR_CODE, error_message: expect.stringContaining('Code: 395'), payload: b });
      expect(await queue.queue.getJob(b.batchId)).toBeUndefined();
      expect(await isPending(tenant, b.batchId)).toBe(false);
    }
    expect((await queue.queue.getFailed()).map((j) => j.id)).toEqual(['not-a-batch']);
    expect(await sweepFailedJobs({ queue: queue.queue, deadLetters: keeper(), logger: quietLogger() })).toEqual({ moved: 0, stored: 0, superseded: 0, notBatches: 1, errors: 0 });
  });

  /** Queues the batch and fails its job: it lands in the failed set like a job that stalled too often. */
  async function inFailedSet(batch: SpanBatch): Promise<void> {
    const before = (await queueState(queue.queue)).failed;
    await queue.add(batch, { attempts: 1 });
    await failJobs(before + 1);
    expect(await (await queue.queue.getJob(batch.batchId))?.getState()).toBe('failed');
  }

  it('removes a failed job whose batch ClickHouse holds, settling it as stored instead of keeping it', async () => {
    const org = await createTestOrg(env, ['stalled']);
    const t = { orgId: org.orgId, workspaceId: org.workspaces.stalled!.id };
    const batch = makeSpanBatch(t, { spans: 5 });
    await markPending(redis, prefix(), batch);
    // Stored by a delivery that then stalled (or whose settle failed) before its job could complete.
    expect((await insertBatches(env.clickhouse, [batch])).status).toBe('ok');
    await inFailedSet(batch);

    const report = await sweepFailedJobs({ queue: queue.queue, deadLetters: keeper(), logger: quietLogger() });
    expect(report).toMatchObject({ moved: 0, stored: 1, errors: 0 });
    expect(await deadLetterOf(batch.batchId)).toBeUndefined();
    expect(await queue.queue.getJob(batch.batchId)).toBeUndefined();
    expect(await isPending(t, batch.batchId)).toBe(false);
    expect(await countStored(env.clickhouse, t.orgId)).toEqual({ rows: 5, distinctSpans: 5, usageSpans: 5 });
  });

  it('removes a stale failed job of a batch replayed since, leaving the dead letter replayed and the batch pending', async () => {
    const batch = makeSpanBatch(tenant, { spans: 2 });
    // Kept from the failed set by one sweep, then replayed; a second sweep still read the original failed job.
    await keeper().keep({ batch, attempts: 1, error: { code: FAILED_JOB_ERROR_CODE, message: 'refused' }, jobId: batch.batchId });
    const kept = (await deadLetterOf(batch.batchId))!;
    await markDeadLetterReplayed(env.pool, { type: 'system', id: 'test' }, { ...tenant, id: kept.id, requeue: async (b) => markPending(redis, prefix(), b) });
    await inFailedSet(batch);

    const report = await sweepFailedJobs({ queue: queue.queue, deadLetters: keeper(), logger: quietLogger() });
    expect(report).toMatchObject({ moved: 0, stored: 0, superseded: 1, errors: 0 });
    expect(await deadLetterOf(batch.batchId)).toMatchObject({ id: kept.id, status: 'replayed', attempts: 1 });
    expect(await queue.queue.getJob(batch.batchId)).toBeUndefined();
    expect(await isPending(tenant, batch.batchId)).toBe(true);
  });
});
