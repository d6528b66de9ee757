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
/** A replay waits this long for Redis to take the batch, then answers 503. */
const ENQUEUE_TIMEOUT_MS = 5_000;

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

/**
 * Puts a replayed batch back on the span queue. It is marked pending first: once the job
 * is queued a worker may store it and clear the mark at any moment, so marking after
 * would leave a stale mark. A failed add takes the mark back (best effort) and answers 503.
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
      await withTimeout(queue.add(batch, { attempts: deps.jobAttempts ?? DEFAULT_JOB_ATTEMPTS, jobId: job.jobId }), ENQUEUE_TIMEOUT_MS);
    } catch (err) {
      await clearPending(redis, prefix, [batch]).catch(() => undefined);
      throw queueDown(err);
    }
  };
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
    handler: async (ctx, { params: p }) => discardDeadLetter(ctx.deps.pg, ctx.actor, { ...ctx.scope, id: p.id }),
  }),
];
