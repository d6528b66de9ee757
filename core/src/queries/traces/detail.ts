import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type TenantScope } from '../../clickhouse/sql.js';
import { decodeStoredAttributes, plainValue } from '../../otlp/anyvalue.js';
import { MAX_TRACE_SPANS, SPAN_KINDS, STATUS_CODES, type SpanDetail, type TraceDetail } from './detail-schema.js';

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  trace_state: string;
  flags: number;
  name: string;
  kind: number;
  start_time_unix_nano: string;
  end_time_unix_nano: string;
  duration_ns: string;
  status_code: number;
  status_message: string;
  service_name: string;
  resource_keys: string[];
  resource_types: number[];
  resource_values: string[];
  resource_dropped_attributes_count: number;
  resource_schema_url: string;
  scope_name: string;
  scope_version: string;
  scope_attributes: string;
  scope_dropped_attributes_count: number;
  scope_schema_url: string;
  attr_keys: string[];
  attr_types: number[];
  attr_values: string[];
  dropped_attributes_count: number;
  events_time_unix_nano: string[];
  events_name: string[];
  events_attributes: string[];
  events_dropped_attributes_count: number[];
  dropped_events_count: number;
  links_trace_id: string[];
  links_span_id: string[];
  links_trace_state: string[];
  links_flags: number[];
  links_attributes: string[];
  links_dropped_attributes_count: number[];
  dropped_links_count: number;
  truncated_fields: string[];
  truncated_original_bytes: number[];
}

const COLUMNS = sql.join(
  [
    'trace_id', 'span_id', 'parent_span_id', 'trace_state', 'flags', 'name', 'kind', 'start_time_unix_nano', 'end_time_unix_nano',
    'duration_ns', 'status_code', 'status_message', 'service_name', 'resource_keys', 'resource_types', 'resource_values',
    'resource_dropped_attributes_count', 'resource_schema_url', 'scope_name', 'scope_version', 'scope_attributes',
    'scope_dropped_attributes_count', 'scope_schema_url', 'attr_keys', 'attr_types', 'attr_values', 'dropped_attributes_count',
    'events_time_unix_nano', 'events_name', 'events_attributes', 'events_dropped_attributes_count', 'dropped_events_count',
    'links_trace_id', 'links_span_id', 'links_trace_state', 'links_flags', 'links_attributes', 'links_dropped_attributes_count',
    'dropped_links_count', 'truncated_fields', 'truncated_original_bytes',
  ].map((c) => sql.identifier(c)),
);

/** Canonical OTLP/JSON key-values as stored for scope, events and links → `{ key: value }`. */
function decodeKeyValuesJson(text: string): Record<string, unknown> {
  if (!text) return {};
  const kvs = JSON.parse(text) as Array<{ key: string; value: Record<string, unknown> }>;
  return Object.fromEntries(kvs.map((kv) => [kv.key, plainValue(kv.value)]));
}

type SpanBase = Omit<SpanDetail, 'depth' | 'children'>;

function toSpan(r: SpanRow): SpanBase {
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id,
    traceState: r.trace_state,
    flags: r.flags,
    name: r.name,
    kind: SPAN_KINDS[r.kind] ?? 'unspecified',
    serviceName: r.service_name,
    startTimeUnixNano: r.start_time_unix_nano,
    endTimeUnixNano: r.end_time_unix_nano,
    durationMs: Number(BigInt(r.duration_ns)) / 1e6,
    status: { code: STATUS_CODES[r.status_code] ?? 'unset', message: r.status_message },
    attributes: decodeStoredAttributes(r.attr_keys, r.attr_types, r.attr_values),
    droppedAttributesCount: r.dropped_attributes_count,
    resource: decodeStoredAttributes(r.resource_keys, r.resource_types, r.resource_values),
    resourceDroppedAttributesCount: r.resource_dropped_attributes_count,
    resourceSchemaUrl: r.resource_schema_url,
    scope: {
      name: r.scope_name,
      version: r.scope_version,
      attributes: decodeKeyValuesJson(r.scope_attributes),
      droppedAttributesCount: r.scope_dropped_attributes_count,
      schemaUrl: r.scope_schema_url,
    },
    events: r.events_name.map((name, i) => ({
      timeUnixNano: r.events_time_unix_nano[i] ?? '0',
      name,
      attributes: decodeKeyValuesJson(r.events_attributes[i] ?? ''),
      droppedAttributesCount: r.events_dropped_attributes_count[i] ?? 0,
    })),
    droppedEventsCount: r.dropped_events_count,
    links: r.links_trace_id.map((traceId, i) => ({
      traceId,
      spanId: r.links_span_id[i] ?? '',
      traceState: r.links_trace_state[i] ?? '',
      flags: r.links_flags[i] ?? 0,
      attributes: decodeKeyValuesJson(r.links_attributes[i] ?? ''),
      droppedAttributesCount: r.links_dropped_attributes_count[i] ?? 0,
    })),
    droppedLinksCount: r.dropped_links_count,
    truncatedFields: r.truncated_fields.map((field, i) => ({ field, originalBytes: r.truncated_original_bytes[i] ?? 0 })),
  };
}

/**
 * Parent/child structure for a waterfall. Spans come sorted by start; a span whose
 * parent is not in the trace (not arrived, or cut off) is a root at depth 0, and so is
 * any span caught in a parent cycle (a malformed trace must still render).
 */
export function buildTree(spans: readonly SpanBase[]): { spans: SpanDetail[]; rootSpanIds: string[] } {
  const byId = new Map<string, SpanDetail>();
  for (const s of spans) if (!byId.has(s.spanId)) byId.set(s.spanId, { ...s, depth: 0, children: [] });
  const ordered = [...byId.values()];
  const roots: SpanDetail[] = [];
  for (const s of ordered) {
    const parent = s.parentSpanId && s.parentSpanId !== s.spanId ? byId.get(s.parentSpanId) : undefined;
    if (parent) parent.children.push(s.spanId);
    else roots.push(s);
  }
  const visited = new Set<string>();
  const walk = (start: SpanDetail): void => {
    const stack: SpanDetail[] = [start];
    visited.add(start.spanId);
    while (stack.length) {
      const s = stack.pop()!;
      for (const id of s.children) {
        const child = byId.get(id)!;
        if (visited.has(id)) continue;
        visited.add(id);
        child.depth = s.depth + 1;
        stack.push(child);
      }
    }
  };
  roots.forEach(walk);
  for (const s of ordered) {
    if (visited.has(s.spanId)) continue;
    // Only spans on a parent cycle are left: break the cycle here.
    s.depth = 0;
    roots.push(s);
    walk(s);
  }
  ordered.sort((a, b) => compareNanos(a.startTimeUnixNano, b.startTimeUnixNano) || a.depth - b.depth || (a.spanId < b.spanId ? -1 : 1));
  return { spans: ordered, rootSpanIds: roots.sort((a, b) => compareNanos(a.startTimeUnixNano, b.startTimeUnixNano)).map((s) => s.spanId) };
}

function compareNanos(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Every span of one trace. One probe of `trace_lookup_monthly` (keyed by tenant and trace
 * id, fine-grained, few partitions) gives the seconds the trace's spans lie in; the span read then carries
 * them as constants, so it touches only those partitions and primary-key ranges. (Two
 * scalar subqueries did the same in one round trip but probed every partition twice.)
 * Null for an unknown trace, or one outside the scope's workspaces.
 *
 * Both reads are point lookups, tuned for that (measured on 10M spans, see README):
 * - The probe asks for the uncompressed-block cache: one compressed block of the lookup's
 *   repetitive key columns spans many 256-row granules, so without it each probe
 *   decompressed ~6 MB to read ~6,000 rows. The lookup table is small; its blocks stay hot.
 * - The span read filters `trace_id` in PREWHERE. ClickHouse 18.16 does not move a condition
 *   on a sorting-key column to PREWHERE itself, so it read every wide column of the ~3 granules
 *   around the trace's seconds (~30 MB uncompressed); now it reads `trace_id` there and
 *   the other columns only of the granule that holds the trace. Its blocks are not cached:
 *   random traces would only churn the cache.
 */
export async function getTrace(clickhouse: ClickHouse, scope: TenantScope, traceId: string): Promise<TraceDetail | null> {
  const [range] = await clickhouse.query<{ lo: number; hi: number; n: string }>(
    scope,
    sql`SELECT toUInt32(min(min_timestamp)) AS lo, toUInt32(max(max_timestamp)) AS hi, count() AS n
        FROM trace_lookup_monthly WHERE ${sql.tenant(scope)} AND trace_id = ${traceId}
        SETTINGS use_uncompressed_cache = 1`,
  );
  if (!range || range.n === '0') return null;
  const spansOfTrace = sql`spans PREWHERE trace_id = ${traceId}
        WHERE ${sql.tenant(scope)}
          AND timestamp >= toDateTime(${Number(range.lo)}) AND timestamp <= toDateTime(${Number(range.hi)})`;
  const rows = await clickhouse.query<SpanRow>(
    scope,
    sql`SELECT ${COLUMNS} FROM ${spansOfTrace}
        ORDER BY start_time_unix_nano, span_id
        LIMIT ${MAX_TRACE_SPANS + 1}`,
  );
  if (rows.length === 0) return null;
  const truncated = rows.length > MAX_TRACE_SPANS;
  const { spans, rootSpanIds } = buildTree(rows.slice(0, MAX_TRACE_SPANS).map(toSpan));
  // Counted only for a cut trace: the same PREWHERE read, of `trace_id` alone.
  const totalSpanCount = truncated
    ? Number((await clickhouse.query<{ n: string }>(scope, sql`SELECT count() AS n FROM ${spansOfTrace}`))[0]?.n ?? 0)
    : spans.length;
  let start = spans[0]!.startTimeUnixNano;
  let end = spans[0]!.endTimeUnixNano;
  for (const s of spans) {
    if (compareNanos(s.startTimeUnixNano, start) < 0) start = s.startTimeUnixNano;
    if (compareNanos(s.endTimeUnixNano, end) > 0) end = s.endTimeUnixNano;
  }
  const duration = BigInt(end) > BigInt(start) ? BigInt(end) - BigInt(start) : 0n;
  return {
    traceId,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    durationMs: Number(duration) / 1e6,
    spanCount: spans.length,
    totalSpanCount,
    services: [...new Set(spans.map((s) => s.serviceName))].sort(),
    rootSpanIds,
    truncated,
    spans,
  };
}
