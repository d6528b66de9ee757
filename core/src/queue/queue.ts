import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { SPANS_QUEUE, spanBatchSchema, type SpanBatch } from './contract.js';

export interface RedisOptions {
  url: string;
  queuePrefix: string;
}

/** The Redis client type the services pass around (so packages need no ioredis import of their own). */
export type RedisClient = Redis;

/** One ioredis connection configured the way BullMQ requires for blocking commands. */
export function createRedis(url: string, options: { forWorker?: boolean } = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: options.forWorker ? null : 1,
    enableOfflineQueue: options.forWorker ?? false,
    connectTimeout: 5_000,
    lazyConnect: false,
  });
}

/** How long an identical re-sent request is recognised (OTel exporters retry within minutes). */
export const DEDUPE_TTL_MS = 10 * 60_000;

/** The job that holds a batch after an add. */
export interface QueuedJob {
  /**
   * The id of the job that holds the batch: the one asked for (the batch id by default),
   * or on a dedupe hit the earlier job with the same dedupe id (BullMQ's add returns that
   * job), which may since have completed and been removed. The collector's jobs are named
   * by their batch id, so for them this is the queued batch's id.
   */
  jobId: string;
}

export interface SpanQueue {
  /**
   * Adds a batch; resolves only when Redis has it. With `dedupeId`, another add with the
   * same id within `DEDUPE_TTL_MS` is a no-op: a client re-sending a request whose first
   * answer was lost (a timeout, a Redis crash after the write) does not queue it twice;
   * the result then names the earlier job. `jobId` defaults to the batch id; a dead-letter
   * replay passes its own (`replayJobId`), since BullMQ may still hold the original job.
   */
  add(batch: SpanBatch, options: { attempts: number; dedupeId?: string; jobId?: string }): Promise<QueuedJob>;
  /** Jobs waiting or delayed (not yet being written). */
  depth(): Promise<number>;
  readonly queue: Queue;
  close(): Promise<void>;
}

export function createSpanQueue(connection: ConnectionOptions, prefix: string): SpanQueue {
  const queue = new Queue(SPANS_QUEUE, { connection, prefix });
  // Errors surface through add(); without a listener BullMQ would log them as unhandled.
  queue.on('error', () => undefined);
  return {
    queue,
    async add(batch, options) {
      const data = spanBatchSchema.parse(batch);
      const job = await queue.add('batch', data, {
        jobId: options.jobId ?? data.batchId,
        attempts: options.attempts,
        // 'capped' is defined by the worker: exponential from 500 ms, never more than 30 s apart.
        backoff: { type: 'capped', delay: 500 },
        removeOnComplete: true,
        removeOnFail: false,
        ...(options.dedupeId ? { deduplication: { id: options.dedupeId, ttl: DEDUPE_TTL_MS } } : {}),
      });
      return { jobId: job.id ?? data.batchId };
    },
    async depth() {
      const counts = await queue.getJobCounts('wait', 'delayed', 'prioritized');
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await queue.close();
    },
  };
}
