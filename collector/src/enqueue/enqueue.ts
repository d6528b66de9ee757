import { newId, normalizeTraceRequest, type NormalizeResult, type OtlpTraceRequest, type QueuedJob, type SpanBatch, type SpanLimits, type SpanQueue } from '@canopy/core';
import type { IngestPrincipal } from '../auth/authenticate.js';
import type { IngestLedger } from './ledger.js';

/** The span queue as the collector uses it; a fake that reports no job is taken to have queued the batch it was given. */
export interface BatchQueue {
  add(...args: Parameters<SpanQueue['add']>): Promise<QueuedJob | void>;
}

/** What the enqueue stage needs: the span queue and a view of its Redis connection. */
export interface EnqueueDeps {
  queue: BatchQueue;
  /** ioredis `status`; anything but `ready` means an add would wait for a connection */
  redis: { readonly status: string };
  /** counts accepted batches in the ingest ledger; absent: no ledger */
  ledger?: Pick<IngestLedger, 'intend' | 'accepted'> | undefined;
}

export interface EnqueueOptions {
  attempts: number;
  timeoutMs: number;
}

/** Outcome of putting one batch on the queue: a value, never a throw. */
export type EnqueueResult = { status: 'ok' } | { status: 'retryable'; reason: 'redis_not_ready' | 'timeout' | 'redis_error'; error?: unknown };

export interface BatchContext {
  principal: IngestPrincipal;
  receivedAtMs: number;
  limits: SpanLimits;
}

/** Normalizes a decoded request into one batch for the key's tenant; tenant ids never come from the payload. */
export function buildBatch(request: OtlpTraceRequest, ctx: BatchContext): { batch: SpanBatch | null; result: NormalizeResult } {
  const { principal, receivedAtMs } = ctx;
  const batchId = newId('batch');
  const result = normalizeTraceRequest(request, {
    orgId: principal.orgId,
    workspaceId: principal.workspaceId,
    batchId,
    keyId: principal.keyId,
    ingestedAtSec: Math.floor(receivedAtMs / 1000),
    limits: ctx.limits,
  });
  if (result.accepted === 0) return { batch: null, result };
  const batch: SpanBatch = {
    v: 1,
    batchId,
    orgId: principal.orgId,
    workspaceId: principal.workspaceId,
    keyId: principal.keyId,
    receivedAtMs,
    spanCount: result.accepted,
    bytes: result.bytes,
    minTimestampSec: result.minTimestampSec,
    maxTimestampSec: result.maxTimestampSec,
    groups: result.groups,
  };
  return { batch, result };
}

const isSchemaError = (err: unknown): boolean => (err as { name?: unknown } | null)?.name === 'ZodError';

/**
 * Adds a batch and resolves only once Redis holds it; with a ledger, its intent is
 * written first and it is counted as accepted after (see ledger.ts). A Redis that is not connected
 * answers at once (BullMQ would otherwise wait for the connection indefinitely), and
 * the add itself is bounded by a timeout, so a request never hangs on the queue.
 */
export async function enqueueBatch(deps: EnqueueDeps, item: { batch: SpanBatch; dedupeId?: string }, options: EnqueueOptions): Promise<EnqueueResult> {
  const { batch, dedupeId } = item;
  const retryable = (reason: 'redis_not_ready' | 'timeout' | 'redis_error', error?: unknown): EnqueueResult => ({ status: 'retryable', reason, error });
  if (deps.redis.status !== 'ready') return retryable('redis_not_ready');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  const ledger = deps.ledger;
  const add = async (): Promise<'added'> => {
    await ledger?.intend(batch);
    const queued = await deps.queue.add(batch, { attempts: options.attempts, ...(dedupeId ? { dedupeId } : {}) });
    await ledger?.accepted({ jobId: queued?.jobId ?? batch.batchId, batch });
    return 'added';
  };
  try {
    const outcome = await Promise.race([add(), timeout]);
    return outcome === 'added' ? { status: 'ok' } : retryable('timeout');
  } catch (err) {
    // A batch that fails the queue contract is a bug here, not a Redis problem.
    if (isSchemaError(err)) throw err;
    return retryable('redis_error', err);
  } finally {
    clearTimeout(timer);
  }
}
