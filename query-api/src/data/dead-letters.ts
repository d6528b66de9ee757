import { z } from 'zod';
import {
  clearPending,
  createSpanQueue,
  deadLetterDetailSchema,
  deadLetterListSchema,
  deadLetterQuerySchema,
  deadLetterSchema,
  discardDeadLetter,
  getDeadLetter,
  idSchema,
  listDeadLetters,
  markDeadLetterReplayed,
  markPending,
  type DeadLetter,
  type PendingBatchRef,
  type RedisClient,
  type SpanBatch,
  type SpanQueue,
} from '@canopy/core';
import { QueryError } from '../errors.js';
import { defineRoute, type RouteDeps } from '../http/route.js';

const tags = ['dead letters'];
const inWorkspace = (p: { ws: string }): { workspaceId: string } => ({ workspaceId: p.ws });
const params = z.object({ ws: z.string(), id: idSchema });

/** Same defaults as the configuration (CANOPY_QUEUE_PREFIX, CANOPY_JOB_ATTEMPTS). */
const DEFAULT_QUEUE_PREFIX = 'canopy';
const DEFAULT_JOB_ATTEMPTS = 40;
/** A replay waits this long for Redis to take the batch, then asks whether it did after all. */
const ENQUEUE_TIMEOUT_MS = 5_000;
/** How long that question may take before the replay answers 503. */
const CONFIRM_TIMEOUT_MS = 2_000;

/** The span queue on the API's Redis connection, made on the first replay (most API processes never replay). */
const queues = new WeakMap<RedisClient, SpanQueue>();
function spanQueueOn(redis: RedisClient, prefix: string): SpanQueue {
  let queue = queues.get(redis);
  if (!queue) {
    queue = createSpanQueue(redis, prefix);
    queues.set(redis, queue);
  }
  return queue;
}

const queueDown = (cause?: unknown): QueryError =>
  new QueryError('unavailable', 'the span queue (Redis) is unavailable; the dead letter was not replayed, try again later', cause === undefined ? undefined : { cause });

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether the queue holds the job; 'unknown' when it cannot say within CONFIRM_TIMEOUT_MS. */
async function queuedState(queue: SpanQueue, jobId: string): Promise<'queued' | 'absent' | 'unknown'> {
  try {
    return (await withTimeout(queue.queue.getJob(jobId), CONFIRM_TIMEOUT_MS)) !== undefined ? 'queued' : 'absent';
  } catch {
    return 'unknown';
  }
}

/**
 * Puts a replayed batch back on the span queue. It is marked pending first: once the job
 * is queued a worker may store it and clear the mark at any moment, so marking after
 * would leave a stale mark. An add that fails or times out may still have reached Redis
 * (its answer lost), so the queue is asked for the job: if it is there the replay is done
 * (the row is committed as replayed); if the queue says it is not there, the mark is taken
 * back and the answer is 503 (a mark left behind would hold the workspace's reconciliation
 * back until someone replays or discards the letter); if the queue cannot say, the answer
 * is 503 and the mark stays — taking it back could hide a job that is queued.
 * The job id is the same until a replay commits (`replayJobId(batchId, replayCount)`), so
 * a client retrying after a 503 whose add did land finds the job queued and adds nothing.
 * Called inside the replay's transaction, after the dead letter was found open, so an
 * unknown or non-open dead letter answers 404/409 whatever the state of Redis.
 */
function requeueWith(deps: RouteDeps): (batch: SpanBatch, job: { jobId: string }) => Promise<void> {
  return async (batch, job) => {
    const { redis } = deps;
    // BullMQ would otherwise wait for a connection: answer at once.
    if (!redis || redis.status !== 'ready') throw queueDown();
    const prefix = deps.queuePrefix ?? DEFAULT_QUEUE_PREFIX;
    const queue = spanQueueOn(redis, prefix);
    try {
      await withTimeout(markPending(redis, prefix, batch), ENQUEUE_TIMEOUT_MS);
    } catch (err) {
      throw queueDown(err);
    }
    try {
      await withTimeout(queue.add(batch, { attempts: deps.jobAttempts ?? DEFAULT_JOB_ATTEMPTS, jobId: job.jobId }), ENQUEUE_TIMEOUT_MS);
    } catch (err) {
      const state = await queuedState(queue, job.jobId);
      if (state === 'queued') {
        deps.log.warn({ jobId: job.jobId, batchId: batch.batchId, err: (err as Error).message }, `replay job ${job.jobId}: no answer to the add, but the queue holds it; replayed`);
        return;
      }
      if (state === 'absent') await forgetPending(deps, batch);
      throw queueDown(err);
    }
  };
}

/**
 * Takes a batch's pending mark back: a replay whose add the queue says did not land, and a
 * discarded batch, which is never settled (a replay that answered 503 may have left one). Best effort — without
 * Redis the stale mark only delays reconciliation — and idempotent (usually no mark is left).
 */
async function forgetPending(deps: RouteDeps, batch: PendingBatchRef): Promise<void> {
  const { redis } = deps;
  if (!redis || redis.status !== 'ready') return;
  await withTimeout(clearPending(redis, deps.queuePrefix ?? DEFAULT_QUEUE_PREFIX, [batch]), CONFIRM_TIMEOUT_MS).catch(() => undefined);
}

export const deadLetterRoutes = [
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/dead-letters',
    summary: "The workspace's dead letters: batches ClickHouse refused after their last attempt, newest first",
    description: 'Kept, never dropped, until replayed or discarded. `status` selects open (default), replayed, discarded or all.',
    tags,
    query: deadLetterQuerySchema,
    response: deadLetterListSchema,
    action: 'deadletter:manage',
    scope: inWorkspace,
    handler: async (ctx, { query }) => listDeadLetters(ctx.deps.pg, ctx.scope, query),
  }),
  defineRoute({
    method: 'get',
    path: '/workspaces/:ws/dead-letters/:id',
    summary: 'One dead letter with its error and its first rows',
    description: 'The rows are span content, hence the same permission as replaying or discarding.',
    tags,
    params,
    response: deadLetterDetailSchema,
    action: 'deadletter:manage',
    scope: inWorkspace,
    handler: async (ctx, { params: p }) => getDeadLetter(ctx.deps.pg, ctx.scope, p.id),
  }),
  defineRoute({
    method: 'post',
    path: '/workspaces/:ws/dead-letters/:id/replay',
    summary: 'Put an open dead letter back on the span queue',
    description:
      'Fix the cause first. The batch keeps its id, so a batch already stored is not stored twice. 409 unless the dead letter is open; 503 (with Retry-After) while the queue is unavailable. If it is refused again it becomes open again.',
    tags,
    params,
    response: deadLetterSchema,
    status: 202,
    action: 'deadletter:manage',
    scope: inWorkspace,
    handler: async (ctx, { params: p }) => markDeadLetterReplayed(ctx.deps.pg, ctx.actor, { ...ctx.scope, id: p.id, requeue: requeueWith(ctx.deps) }),
  }),
  defineRoute({
    method: 'delete',
    path: '/workspaces/:ws/dead-letters/:id',
    summary: 'Discard an open dead letter: its rows are deleted, the record stays',
    description: '409 unless the dead letter is open.',
    tags,
    params,
    response: deadLetterSchema,
    action: 'deadletter:manage',
    scope: inWorkspace,
    handler: async (ctx, { params: p }) => {
      const discarded = await discardDeadLetter(ctx.deps.pg, ctx.actor, { ...ctx.scope, id: p.id });
      await forgetPending(ctx.deps, discarded);
      return discarded;
    },
  }),
];
