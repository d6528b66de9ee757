import type { SpanQueue } from '@canopy/core';
import { IngestError } from '../errors.js';
import type { CpuQueue } from './cpu-queue.js';
import type { InflightBytes } from './inflight.js';
import type { RetryAfter } from './retry-after.js';

export interface LoadShedderDeps {
  /** ioredis `status`: anything but `ready` means an enqueue cannot succeed now */
  redis: { readonly status: string };
  /** the span queue's depth; without it (tests' fakes) depth is never a reason to shed */
  queue: Partial<Pick<SpanQueue, 'depth'>>;
  inflight: InflightBytes;
  /** the decode queue; how long it would make a request wait tells whether the CPU keeps up */
  cpu: Pick<CpuQueue, 'waitMs'>;
  retryAfter: RetryAfter;
}

export interface LoadShedderOptions {
  /** queued jobs (waiting + delayed) above which requests are refused */
  maxQueueDepth: number;
  /** estimated wait for the decode queue above which requests are refused: the CPU cannot keep up */
  maxDecodeWaitMs: number;
  /** how long one depth reading is used before the next is asked for (default 250) */
  depthCacheMs?: number;
  now?: () => number;
}

export interface LoadShedder {
  /** Throws a retryable IngestError (503) when this request should not be read at all. */
  check(declaredBytes: number): void;
  /**
   * Throws a retryable IngestError (503) when a body that has been read would wait too
   * long to be decoded: requests that arrived together all passed check() before their
   * bodies queued up, and decoding is where the CPU goes.
   */
  checkDecode(): void;
  /** the last depth reading, or null before the first */
  readonly queueDepth: number | null;
}

/** A reading older than this (Redis slow or failing) is no reason to refuse; the Redis check covers an outage. */
const STALE_DEPTH_MS = 5_000;

/**
 * Decides before a body is read whether the collector can take it: Redis reachable,
 * queue not deeper than the bound, CPU keeping up (decode queue wait), body bytes within
 * the in-flight budget. A refusal costs next to nothing, so under overload the requests
 * that are taken keep their latency and /healthz keeps answering. The queue
 * depth is read at most every `depthCacheMs`, in the background: a request never waits
 * for it and Redis sees one small query per interval, however busy the collector is.
 */
export function createLoadShedder(deps: LoadShedderDeps, options: LoadShedderOptions): LoadShedder {
  const now = options.now ?? Date.now;
  const cacheMs = options.depthCacheMs ?? 250;
  let depth: number | null = null;
  let depthAt = 0;
  let askedAt = -Infinity;
  let asking = false;

  const refreshDepth = (): void => {
    const depthOf = deps.queue.depth;
    const t = now();
    // A reading that never comes back (Redis hung) must not stop the next one for long.
    if (!depthOf || t - askedAt < cacheMs || (asking && t - askedAt < STALE_DEPTH_MS)) return;
    asking = true;
    askedAt = t;
    void depthOf.call(deps.queue).then(
      (d) => {
        depth = d;
        depthAt = now();
        asking = false;
      },
      () => {
        asking = false;
      },
    );
  };

  const refuse = (code: 'queue_unavailable' | 'queue_full' | 'busy' | 'overloaded', message: string): never => {
    throw new IngestError(code, message, { retryAfterSeconds: deps.retryAfter() });
  };

  const refuseIfBusy = (): void => {
    const wait = deps.cpu.waitMs;
    if (wait > options.maxDecodeWaitMs) refuse('busy', `the collector is busy (about ${Math.round(wait)} ms of decoding queued); retry later`);
  };

  return {
    checkDecode: refuseIfBusy,
    get queueDepth() {
      return depth;
    },
    check(declaredBytes) {
      if (deps.redis.status !== 'ready') refuse('queue_unavailable', 'the span queue (Redis) is unreachable; retry later');
      refreshDepth();
      if (depth !== null && depth > options.maxQueueDepth && now() - depthAt < STALE_DEPTH_MS) {
        refuse('queue_full', `the span queue holds more than ${options.maxQueueDepth} batches; retry later`);
      }
      refuseIfBusy();
      if (!deps.inflight.fits(declaredBytes)) refuse('overloaded', 'the collector holds as many request bytes as it may; retry later');
    },
  };
}
