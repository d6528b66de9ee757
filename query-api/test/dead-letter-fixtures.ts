import { randomBytes } from 'node:crypto';
import { newId, normalizeTraceRequest, recordDeadLetter, type DeadLetter, type PgPool, type SpanBatch } from '@canopy/core';

/** A batch as the collector queues it: `spans` spans of one service, normalized by core. */
export function spanBatchFor(tenant: { orgId: string; workspaceId: string }, spans = 2): SpanBatch {
  const batchId = newId('batch');
  const receivedAtMs = Date.now() - 5_000;
  const traceId = randomBytes(16).toString('hex');
  const n = normalizeTraceRequest(
    {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              scope: { name: 'test' },
              spans: Array.from({ length: spans }, (_, i) => ({
                traceId,
                spanId: randomBytes(8).toString('hex'),
                name: `op-${i}`,
                startTimeUnixNano: '1700000000000000000',
                endTimeUnixNano: '1700000000100000000',
              })),
            },
          ],
        },
      ],
    },
    { ...tenant, batchId, ingestedAtSec: Math.floor(receivedAtMs / 1000) },
  );
  return { v: 1, batchId, ...tenant, keyId: 'key_test', receivedAtMs, spanCount: n.accepted, bytes: n.bytes, minTimestampSec: n.minTimestampSec, maxTimestampSec: n.maxTimestampSec, groups: n.groups };
}

/** An open dead letter in the workspace, as a worker keeps one after the last attempt. */
export async function openDeadLetter(pool: PgPool, tenant: { orgId: string; workspaceId: string }, spans = 2): Promise<DeadLetter & { batch: SpanBatch }> {
  const batch = spanBatchFor(tenant, spans);
  const r = await recordDeadLetter(pool, { batch, attempts: 3, error: { code: 'clickhouse_rejected', message: 'insert into spans failed: Code: 395' }, jobId: batch.batchId });
  if (r.outcome === 'workspace_deleted') throw new Error(`workspace ${tenant.workspaceId} does not exist`);
  return { ...r.deadLetter, batch };
}
