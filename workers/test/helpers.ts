import type { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
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

export interface TcpProxy {
  /** the target's URL with host and port of the proxy */
  url: string;
  /** drops every open connection and refuses new ones, like a network outage */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP hop in front of a real service (ClickHouse, Postgres) that can be cut like a network outage. */
export async function startTcpProxy(target: URL, defaultPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect(Number(target.port || defaultPort), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const proxied = new URL(target);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as AddressInfo).port);
  return {
    url: proxied.toString().replace(/\/$/, ''),
    cut() {
      down = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      down = false;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
