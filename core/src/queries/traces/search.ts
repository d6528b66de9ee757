import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type Sql, type TenantScope } from '../../clickhouse/sql.js';
import { toSeconds } from '../params.js';
import { encodeTraceCursor } from './cursor.js';
import { attributeCondition } from './filters.js';
import type { TraceSearchInput, TraceSearchResult, TraceSummary, TraceStatus } from './schema.js';

const STATUS_CODE: Record<TraceStatus, number> = { unset: 0, ok: 1, error: 2 };

/**
 * How long a trace may be for search to be exact. A trace is summarised from its spans
 * within this much of the searched window, and newest-first search looks for matching
 * spans at most this long after a trace's start. Longer traces are still found; a
 * summary that misses some of the trace's spans says so (`truncated`, `totalSpanCount`).
 */
export const TRACE_SUMMARY_PAD_SEC = 3600;
const PAD_MS = TRACE_SUMMARY_PAD_SEC * 1000;

/** First window of a newest-first search; it grows until a page is certain. */
const FIRST_WINDOW_MS = 15 * 60_000;

const ns = (ms: number): bigint => BigInt(ms) * 1_000_000n;
const msToNs = (ms: number): bigint => BigInt(Math.round(ms * 1_000_000));

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

/** Milliseconds since the epoch; a window of span start times, [from, to). */
interface Window {
  fromMs: number;
  toMs: number;
}

/** The `timestamp` seconds a window's traces are summarised from: the window within the range, padded. */
function summaryBounds(input: TraceSearchInput, window: Window): { fromSec: number; toSec: number } {
  return {
    fromSec: toSeconds(new Date(Math.max(input.from.getTime(), window.fromMs) - PAD_MS)),
    toSec: toSeconds(new Date(Math.min(input.to.getTime(), window.toMs) + PAD_MS)),
  };
}

/**
 * One search over a window: the ids of traces with a matching span whose start lies in
 * the window (tenant + timestamp is a primary-key range), then those traces aggregated
 * over their spans within the pad around it, sorted by the keyset, one row past the page.
 */
export function buildTraceSearchQuery(scope: TenantScope, input: TraceSearchInput, window: Window = { fromMs: input.from.getTime(), toMs: input.to.getTime() }): Sql {
  const matching = sql.join(
    [
      sql.tenant(scope),
      sql`timestamp >= toDateTime(${toSeconds(new Date(window.fromMs))}) AND timestamp <= toDateTime(${toSeconds(new Date(window.toMs))})`,
      sql`start_time_unix_nano >= ${ns(window.fromMs)} AND start_time_unix_nano < ${ns(window.toMs)}`,
      ...spanConditions(input),
    ],
    ' AND ',
  );
  const outer = summaryBounds(input, window);
  const hav = having(input);
  const order = input.sort === 'start' ? sql`trace_start DESC, trace_id DESC` : sql`trace_duration DESC, trace_id DESC`;
  return sql`SELECT trace_id,
      min(start_time_unix_nano) AS trace_start,
      max(end_time_unix_nano) AS trace_end,
      if(trace_end > trace_start, toUInt64(trace_end - trace_start), toUInt64(0)) AS trace_duration,
      count() AS span_count,
      countIf(status_code = 2) AS error_count,
      arraySort(groupUniqArray(service_name)) AS services,
      argMin(service_name, tuple(parent_span_id != '', start_time_unix_nano)) AS root_service,
      argMin(name, tuple(parent_span_id != '', start_time_unix_nano)) AS root_name
    FROM spans
    WHERE ${sql.tenant(scope)}
      AND timestamp >= toDateTime(${outer.fromSec}) AND timestamp <= toDateTime(${outer.toSec})
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

/**
 * Newest first, a page is certain once it is full of traces that started inside the
 * window searched so far: any trace not yet seen started before the window. So the
 * search starts with the last 15 minutes before `to` (or before the cursor's trace, plus
 * the pad) and widens, by how many traces the last window held, until the page is
 * certain or the window reaches `from`. Sorting by duration needs every trace: one pass.
 */
async function runWindows(clickhouse: ClickHouse, scope: TenantScope, input: TraceSearchInput): Promise<{ rows: Row[]; window: Window }> {
  const fromMs = input.from.getTime();
  if (input.sort === 'duration') {
    const window = { fromMs, toMs: input.to.getTime() };
    return { rows: await clickhouse.query<Row>(scope, buildTraceSearchQuery(scope, input, window)), window };
  }
  const cursorMs = input.cursor ? Number(BigInt(input.cursor.key) / 1_000_000n) : Infinity;
  const toMs = Math.min(input.to.getTime(), cursorMs + PAD_MS + 1);
  let width = FIRST_WINDOW_MS;
  for (;;) {
    const window = { fromMs: Math.max(fromMs, toMs - width), toMs };
    const rows = await clickhouse.query<Row>(scope, buildTraceSearchQuery(scope, input, window));
    if (window.fromMs <= fromMs) return { rows, window };
    const inside = rows.filter((r) => BigInt(r.trace_start) >= ns(window.fromMs)).length;
    if (inside > input.limit) return { rows, window };
    width *= Math.min(16, Math.max(2, Math.ceil((2 * (input.limit + 1)) / Math.max(inside, 1))));
  }
}

const nsToMs = (nanos: string): number => Number(BigInt(nanos)) / 1e6;

/**
 * The true span count of each page trace that has spans outside the seconds its summary
 * was read from (a trace longer than the pad, or one reaching past the range). The
 * trace lookup (fine granules, monthly partitions) finds them cheaply; only those are
 * counted in `trace_index`. Usually it finds none and this is one small query.
 */
async function trueSpanCounts(clickhouse: ClickHouse, scope: TenantScope, page: { rows: Row[]; bounds: { fromSec: number; toSec: number } }): Promise<Map<string, number>> {
  const totals = new Map<string, number>();
  if (page.rows.length === 0) return totals;
  const ids = (traceIds: readonly string[]): Sql => sql.join(traceIds.map((id) => sql`${id}`));
  const ranges = await clickhouse.query<{ trace_id: string; lo: number | string; hi: number | string }>(
    scope,
    sql`SELECT trace_id, toUInt32(min(min_timestamp)) AS lo, toUInt32(max(max_timestamp)) AS hi
        FROM trace_lookup_monthly WHERE ${sql.tenant(scope)} AND trace_id IN (${ids(page.rows.map((r) => r.trace_id))})
        GROUP BY trace_id`,
  );
  const { fromSec, toSec } = page.bounds;
  const reaching = ranges.filter((r) => Number(r.lo) < fromSec || Number(r.hi) > toSec).map((r) => r.trace_id);
  if (reaching.length === 0) return totals;
  const counts = await clickhouse.query<{ trace_id: string; n: string }>(
    scope,
    sql`SELECT trace_id, sum(span_count) AS n FROM trace_index WHERE ${sql.tenant(scope)} AND trace_id IN (${ids(reaching)}) GROUP BY trace_id`,
  );
  for (const c of counts) totals.set(c.trace_id, Number(c.n));
  return totals;
}

/** Traces matching `input` in the scope's workspaces, one page at a time. */
export async function searchTraces(clickhouse: ClickHouse, scope: TenantScope, input: TraceSearchInput): Promise<TraceSearchResult> {
  const { rows, window } = await runWindows(clickhouse, scope, input);
  const page = rows.slice(0, input.limit);
  const totals = await trueSpanCounts(clickhouse, scope, { rows: page, bounds: summaryBounds(input, window) });
  const traces: TraceSummary[] = page.map((r) => {
    const spanCount = Number(r.span_count);
    const total = Math.max(spanCount, totals.get(r.trace_id) ?? 0);
    return {
      traceId: r.trace_id,
      rootServiceName: r.root_service,
      rootSpanName: r.root_name,
      startTimeUnixNano: r.trace_start,
      endTimeUnixNano: r.trace_end,
      durationMs: nsToMs(r.trace_duration),
      spanCount,
      errorCount: Number(r.error_count),
      services: r.services,
      truncated: total > spanCount,
      totalSpanCount: total,
    };
  });
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > input.limit && last
      ? encodeTraceCursor({ sort: input.sort, key: input.sort === 'start' ? last.trace_start : last.trace_duration, traceId: last.trace_id })
      : null;
  return { traces, nextCursor };
}
