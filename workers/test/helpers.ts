import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { AllTenants, createLogger, newId, normalizeTraceRequest, sql, type ClickHouse, type Logger, type OtlpTraceRequest, type SpanBatch } from '@canopy/core';

export interface Tenant {
  orgId: string;
  workspaceId: string;
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A SpanBatch as the collector would enqueue it: an OTLP/JSON request normalized by core. */
export function makeSpanBatch(tenant: Tenant, options: { spans: number; service?: string; batchId?: string }): SpanBatch {
  const batchId = options.batchId ?? newId('batch');
  const receivedAtMs = Date.now();
  const traceId = hex(16);
  const request: OtlpTraceRequest = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: options.service ?? 'svc' } }] },
        scopeSpans: [
          {
            scope: { name: 's' },
            spans: Array.from({ length: options.spans }, (_, i) => ({
              traceId,
              spanId: hex(8),
              name: `op-${i}`,
              kind: 2,
              startTimeUnixNano: '1700000000000000000',
              endTimeUnixNano: '1700000000100000000',
            })),
          },
        ],
      },
    ],
  };
  const n = normalizeTraceRequest(request, { ...tenant, batchId, ingestedAtSec: Math.floor(receivedAtMs / 1000) });
  return {
    v: 1,
    batchId,
    ...tenant,
    keyId: 'key_test',
    receivedAtMs,
    spanCount: n.accepted,
    bytes: n.bytes,
    minTimestampSec: n.minTimestampSec,
    maxTimestampSec: n.maxTimestampSec,
    groups: n.groups,
  };
}

/** A batch ClickHouse refuses: its rows are not JSON. */
export function makePoisonBatch(tenant: Tenant): SpanBatch {
  return { ...makeSpanBatch(tenant, { spans: 1 }), groups: [{ prefix: '"org_id": this is not json', spans: '"name":1' }] };
}

export const quietLogger = (): Logger => createLogger({ level: 'silent', pretty: false }, 'workers-test');

export interface SpanCounts {
  rows: number;
  distinctSpans: number;
  usageSpans: number;
}

/** What ClickHouse holds for one organization: span rows, distinct span ids, and the usage rollup. */
export async function countStored(clickhouse: ClickHouse, orgId: string): Promise<SpanCounts> {
  const [spans] = await clickhouse.query<{ rows: string; distinct_spans: string }>(
    AllTenants,
    sql`SELECT count() AS rows, uniqExact(span_id) AS distinct_spans FROM spans WHERE ${sql.allTenants()} AND org_id = ${orgId}`,
  );
  const [usage] = await clickhouse.query<{ spans: string }>(
    AllTenants,
    sql`SELECT sum(spans) AS spans FROM usage_daily WHERE ${sql.allTenants()} AND org_id = ${orgId}`,
  );
  return { rows: Number(spans?.rows ?? 0), distinctSpans: Number(spans?.distinct_spans ?? 0), usageSpans: Number(usage?.spans ?? 0) };
}

/** Jobs not yet finished, and jobs kept as failed. */
export async function queueState(queue: Queue): Promise<{ unfinished: number; failed: number; completed: number }> {
  const c = await queue.getJobCounts('active', 'wait', 'delayed', 'prioritized', 'failed', 'completed');
  return { unfinished: (c.active ?? 0) + (c.wait ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0), failed: c.failed ?? 0, completed: c.completed ?? 0 };
}
