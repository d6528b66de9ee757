import { z } from 'zod';

/** BullMQ queue that carries accepted spans from collectors to workers. */
export const SPANS_QUEUE = 'spans';

/**
 * A queued batch: the spans of one accepted export request, already normalized to
 * ClickHouse rows, grouped so that columns shared by a resource and scope travel once
 * (`groupsToJsonEachRow` expands them). Rows rather than raw OTLP because the collector
 * must decode to validate anyway; queuing rows means nothing decodes a payload twice and
 * the worker only joins text (measured in bench/: see README "Queue format").
 */
export const spanBatchSchema = z.object({
  v: z.literal(1),
  batchId: z.string().min(1),
  orgId: z.string().min(1),
  workspaceId: z.string().min(1),
  keyId: z.string().min(1),
  receivedAtMs: z.number().int().nonnegative(),
  spanCount: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
  minTimestampSec: z.number().int().nonnegative(),
  maxTimestampSec: z.number().int().nonnegative(),
  groups: z.array(z.object({ prefix: z.string().min(2), spans: z.string().min(2) })).min(1),
});

export type SpanBatch = z.infer<typeof spanBatchSchema>;

/** Retry delay for a failed batch: doubles from 500 ms and stays at 30 s, so a long outage is ridden out. */
export function cappedBackoffMs(attemptsMade: number): number {
  return Math.min(30_000, 500 * 2 ** Math.max(0, attemptsMade - 1));
}
