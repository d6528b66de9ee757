import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type Sql, type TenantScope } from '../../clickhouse/sql.js';
import { toSeconds } from '../params.js';
import { encodeTraceCursor } from './cursor.js';
import { attributeCondition } from './filters.js';
import type { TraceSearchInput, TraceSearchResult, TraceSummary, TraceStatus } from './schema.js';

const STATUS_CODE: Record<TraceStatus, number> = { unset: 0, ok: 1, error: 2 };

/**
 * A trace's summary is computed over its spans within this much of the searched range,
 * so a trace that starts a little before `from` still shows its real root and start.
 */
export const TRACE_SUMMARY_PAD_SEC = 3600;

const ns = (d: Date): bigint => BigInt(d.getTime()) * 1_000_000n;
const msToNs = (ms: number): bigint => BigInt(Math.round(ms * 1_000_000));

/** `timestamp` bounds (primary key, partitions) plus exact nanosecond bounds on the span start. */
function spanRange(from: Date, to: Date): Sql {
  return sql`timestamp >= toDateTime(${toSeconds(from)}) AND timestamp <= toDateTime(${toSeconds(to)})
    AND start_time_unix_nano >= ${ns(from)} AND start_time_unix_nano < ${ns(to)}`;
}

/** Conditions that one span must meet for its trace to match. */
export function spanConditions(input: TraceSearchInput): Sql[] {
  const conds: Sql[] = [];
  if (input.services.length) conds.push(sql`service_name IN (${sql.join(input.services.map((s) => sql`${s}`))})`);
  if (input.names.length) conds.push(sql`name IN (${sql.join(input.names.map((n) => sql`${n}`))})`);
  if (input.q !== undefined) conds.push(sql`positionCaseInsensitiveUTF8(name, ${input.q}) > 0`);
  if (input.status !== undefined) conds.push(sql`status_code = ${STATUS_CODE[input.status]}`);
  for (const f of input.attributes) conds.push(attributeCondition(f));
  return conds;
}

function having(input: TraceSearchInput): Sql[] {
  const out: Sql[] = [];
  if (input.minDurationMs !== undefined) out.push(sql`trace_duration >= ${msToNs(input.minDurationMs)}`);
  if (input.maxDurationMs !== undefined) out.push(sql`trace_duration <= ${msToNs(input.maxDurationMs)}`);
  if (input.cursor) {
    const key = sql.identifier(input.sort === 'start' ? 'trace_start' : 'trace_duration');
    const k = BigInt(input.cursor.key);
    out.push(sql`(${key} < ${k} OR (${key} = ${k} AND trace_id < ${input.cursor.traceId}))`);
  }
  return out;
}

/**
 * Finds the ids of traces with a matching span in the range (tenant + timestamp is a
 * primary-key range), then aggregates just those traces, sorts by the keyset and cuts
 * one row past the page to know whether there is a next one.
 */
export function buildTraceSearchQuery(scope: TenantScope, input: TraceSearchInput): Sql {
  const matching = sql.join([sql.tenant(scope), spanRange(input.from, input.to), ...spanConditions(input)], ' AND ');
  const padFrom = new Date(input.from.getTime() - TRACE_SUMMARY_PAD_SEC * 1000);
  const padTo = new Date(input.to.getTime() + TRACE_SUMMARY_PAD_SEC * 1000);
  const hav = having(input);
  const order = input.sort === 'start' ? sql`trace_start DESC, trace_id DESC` : sql`trace_duration DESC, trace_id DESC`;
  return sql`SELECT trace_id,
      min(start_time_unix_nano) AS trace_start,
      max(end_time_unix_nano) AS trace_end,
      if(trace_end > trace_start, trace_end - trace_start, toUInt64(0)) AS trace_duration,
      count() AS span_count,
      countIf(status_code = 2) AS error_count,
      arraySort(groupUniqArray(service_name)) AS services,
      argMin(service_name, tuple(parent_span_id != '', start_time_unix_nano)) AS root_service,
      argMin(name, tuple(parent_span_id != '', start_time_unix_nano)) AS root_name
    FROM spans
    WHERE ${sql.tenant(scope)}
      AND timestamp >= toDateTime(${toSeconds(padFrom)}) AND timestamp <= toDateTime(${toSeconds(padTo)})
      AND trace_id IN (SELECT trace_id FROM spans WHERE ${matching})
    GROUP BY trace_id
    ${hav.length ? sql`HAVING ${sql.join(hav, ' AND ')}` : sql.empty}
    ORDER BY ${order}
    LIMIT ${input.limit + 1}`;
}

interface Row {
  trace_id: string;
  trace_start: string;
  trace_end: string;
  trace_duration: string;
  span_count: string;
  error_count: string;
  services: string[];
  root_service: string;
  root_name: string;
}

const nsToMs = (nanos: string): number => Number(BigInt(nanos)) / 1e6;

/** Traces matching `input` in the scope's workspaces, one page at a time. */
export async function searchTraces(clickhouse: ClickHouse, scope: TenantScope, input: TraceSearchInput): Promise<TraceSearchResult> {
  const rows = await clickhouse.query<Row>(scope, buildTraceSearchQuery(scope, input));
  const page = rows.slice(0, input.limit);
  const traces: TraceSummary[] = page.map((r) => ({
    traceId: r.trace_id,
    rootServiceName: r.root_service,
    rootSpanName: r.root_name,
    startTimeUnixNano: r.trace_start,
    endTimeUnixNano: r.trace_end,
    durationMs: nsToMs(r.trace_duration),
    spanCount: Number(r.span_count),
    errorCount: Number(r.error_count),
    services: r.services,
  }));
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > input.limit && last
      ? encodeTraceCursor({ sort: input.sort, key: input.sort === 'start' ? last.trace_start : last.trace_duration, traceId: last.trace_id })
      : null;
  return { traces, nextCursor };
}
