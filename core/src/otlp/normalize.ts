import { canonicalKeyValues, encodeValue } from './anyvalue.js';
import { durationNs, idToHex, isAllZeroHex, nanosToSeconds, uint64ToString } from './scalars.js';
import type { OtlpEvent, OtlpKeyValue, OtlpLink, OtlpSpan, OtlpTraceRequest } from './types.js';

/** Why a span was refused; bounded, so it can label metrics. */
export type SpanRejectReason =
  | 'invalid_trace_id'
  | 'invalid_span_id'
  | 'invalid_parent_span_id'
  | 'invalid_timestamp'
  | 'invalid_kind'
  | 'invalid_status';

const REASON_TEXT: Record<SpanRejectReason, string> = {
  invalid_trace_id: 'trace_id must be 16 bytes and not all zero',
  invalid_span_id: 'span_id must be 8 bytes and not all zero',
  invalid_parent_span_id: 'parent_span_id must be empty or 8 bytes',
  invalid_timestamp: 'start_time_unix_nano must be a non-zero unsigned 64-bit integer',
  invalid_kind: 'kind must be a SpanKind (0-5)',
  invalid_status: 'status.code must be a StatusCode (0-2)',
};

export interface NormalizeContext {
  orgId: string;
  workspaceId: string;
  batchId: string;
  /** when the collector accepted the request, in Unix seconds */
  ingestedAtSec: number;
}

export interface ServiceUsage {
  spans: number;
  bytes: number;
}

/**
 * Rows that share tenant, resource and scope columns: `prefix` holds those JSON members
 * once, `spans` one line of per-span members per span (both without braces). A row is
 * `{prefix,span}`; `groupsToJsonEachRow` expands them. Queuing groups instead of rows
 * keeps the shared ~40% of every row out of Redis.
 */
export interface RowGroup {
  prefix: string;
  spans: string;
}

export interface NormalizeResult {
  groups: RowGroup[];
  /** JSONEachRow text of every accepted span, ready for `INSERT INTO spans` (built on first read) */
  readonly rows: string;
  accepted: number;
  rejected: number;
  rejectedBy: Partial<Record<SpanRejectReason, number>>;
  /** bytes of the stored rows, the unit usage is billed in */
  bytes: number;
  usageByService: Record<string, ServiceUsage>;
  minTimestampSec: number;
  maxTimestampSec: number;
}

const SPAN_KINDS: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };

function enumValue(v: number | string | undefined, names: Record<string, number>, max: number): number | null {
  if (v === undefined || v === null) return 0;
  const n = typeof v === 'number' ? v : (names[v] ?? (/^\d+$/.test(v) ? Number(v) : NaN));
  return Number.isInteger(n) && n >= 0 && n <= max ? n : null;
}

const u32 = (v: unknown): number => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? Math.min(Math.floor(v), 4294967295) : 0);
const q = JSON.stringify;

function serviceNameOf(attrs: OtlpKeyValue[] | null | undefined): string {
  if (attrs) {
    for (const kv of attrs) {
      if (kv.key === 'service.name') {
        const v = encodeValue(kv.value);
        if (v.text) return v.text;
      }
    }
  }
  return 'unknown_service';
}

/**
 * JSON members of one attribute set's four parallel columns, written in one pass: this
 * runs for every span, and building four arrays to stringify them doubled the garbage.
 */
function attributeMembers(column: 'attr' | 'resource', kvs: OtlpKeyValue[] | null | undefined): string {
  if (!kvs || kvs.length === 0) return column === 'attr' ? NO_ATTRS : NO_RESOURCE_ATTRS;
  let keys = '';
  let types = '';
  let values = '';
  let numbers = '';
  for (let i = 0; i < kvs.length; i++) {
    const kv = kvs[i]!;
    const v = encodeValue(kv.value);
    const sep = i === 0 ? '' : ',';
    keys += sep + q(kv.key ?? '');
    types += sep + v.type;
    values += sep + q(v.text);
    numbers += sep + v.number;
  }
  return `"${column}_keys":[${keys}],"${column}_types":[${types}],"${column}_values":[${values}],"${column}_numbers":[${numbers}]`;
}
const NO_ATTRS = '"attr_keys":[],"attr_types":[],"attr_values":[],"attr_numbers":[]';
const NO_RESOURCE_ATTRS = '"resource_keys":[],"resource_types":[],"resource_values":[],"resource_numbers":[]';

/** Exact UTF-8 size of a row whose text before `,"size_bytes":N}` is `base` bytes long. */
function rowBytes(base: number): number {
  let n = base + 16;
  while (base + 15 + String(n).length !== n) n = base + 15 + String(n).length;
  return n;
}

/** Expands queued groups into JSONEachRow text (one row per line). */
export function groupsToJsonEachRow(groups: readonly RowGroup[]): string {
  // split/join rather than replaceAll: a `$` in the prefix must never be read as a pattern.
  return groups.map((g) => `{${g.prefix},${g.spans.split('\n').join(`}\n{${g.prefix},`)}}`).join('\n');
}

/**
 * Turns one decoded export request into ClickHouse rows. Tenant columns come from the
 * caller (the authenticated key), never from the payload. Invalid spans are counted and
 * skipped; the valid spans beside them are kept.
 */
export function normalizeTraceRequest(request: OtlpTraceRequest, ctx: NormalizeContext): NormalizeResult {
  const groups: RowGroup[] = [];
  let rowsText: string | undefined;
  const result: NormalizeResult = {
    groups,
    get rows() {
      return (rowsText ??= groupsToJsonEachRow(groups));
    },
    accepted: 0,
    rejected: 0,
    rejectedBy: {},
    bytes: 0,
    usageByService: {},
    minTimestampSec: Number.MAX_SAFE_INTEGER,
    maxTimestampSec: 0,
  };
  const tenant = `"org_id":${q(ctx.orgId)},"workspace_id":${q(ctx.workspaceId)},"batch_id":${q(ctx.batchId)},"ingested_at":${ctx.ingestedAtSec}`;
  const reject = (reason: SpanRejectReason): void => {
    result.rejected++;
    result.rejectedBy[reason] = (result.rejectedBy[reason] ?? 0) + 1;
  };

  for (const rs of request.resourceSpans ?? []) {
    if (!rs || typeof rs !== 'object') continue;
    const resourceAttrs = rs.resource?.attributes;
    const serviceName = serviceNameOf(resourceAttrs);
    const resource =
      `"service_name":${q(serviceName)},${attributeMembers('resource', resourceAttrs)},` +
      `"resource_dropped_attributes_count":${u32(rs.resource?.droppedAttributesCount)},"resource_schema_url":${q(rs.schemaUrl ?? '')}`;
    for (const ss of rs.scopeSpans ?? []) {
      if (!ss || typeof ss !== 'object') continue;
      const scope = ss.scope;
      const prefix =
        `${tenant},${resource},"scope_name":${q(scope?.name ?? '')},"scope_version":${q(scope?.version ?? '')},` +
        `"scope_attributes":${q(q(canonicalKeyValues(scope?.attributes)))},"scope_dropped_attributes_count":${u32(scope?.droppedAttributesCount)},` +
        `"scope_schema_url":${q(ss.schemaUrl ?? '')}`;
      // `{` + prefix + `,` + span members + `}`
      const prefixBytes = Buffer.byteLength(prefix) + 2;
      const lines: string[] = [];
      for (const span of ss.spans ?? []) {
        if (!span || typeof span !== 'object') continue;
        const line = spanMembers(span, reject);
        if (line === null) continue;
        const bytes = rowBytes(prefixBytes + Buffer.byteLength(line.text));
        lines.push(`${line.text},"size_bytes":${bytes}`);
        result.accepted++;
        result.bytes += bytes;
        const usage = (result.usageByService[serviceName] ??= { spans: 0, bytes: 0 });
        usage.spans++;
        usage.bytes += bytes;
        if (line.timestampSec < result.minTimestampSec) result.minTimestampSec = line.timestampSec;
        if (line.timestampSec > result.maxTimestampSec) result.maxTimestampSec = line.timestampSec;
      }
      if (lines.length) groups.push({ prefix, spans: lines.join('\n') });
    }
  }
  if (result.accepted === 0) result.minTimestampSec = 0;
  return result;
}

const eventMembers = (events: readonly (OtlpEvent | null)[]): string =>
  `"events_time_unix_nano":${q(events.map((e) => uint64ToString(e?.timeUnixNano) ?? '0'))},` +
  `"events_name":${q(events.map((e) => e?.name ?? ''))},` +
  `"events_attributes":${q(events.map((e) => q(canonicalKeyValues(e?.attributes))))},` +
  `"events_dropped_attributes_count":${q(events.map((e) => u32(e?.droppedAttributesCount)))}`;

const linkMembers = (links: readonly (OtlpLink | null)[]): string =>
  `"links_trace_id":${q(links.map((l) => idToHex(l?.traceId)))},"links_span_id":${q(links.map((l) => idToHex(l?.spanId)))},` +
  `"links_trace_state":${q(links.map((l) => l?.traceState ?? ''))},"links_flags":${q(links.map((l) => u32(l?.flags)))},` +
  `"links_attributes":${q(links.map((l) => q(canonicalKeyValues(l?.attributes))))},` +
  `"links_dropped_attributes_count":${q(links.map((l) => u32(l?.droppedAttributesCount)))}`;

const NO_EVENTS = eventMembers([]);
const NO_LINKS = linkMembers([]);

function spanMembers(span: OtlpSpan, reject: (r: SpanRejectReason) => void): { text: string; timestampSec: number } | null {
  const traceId = idToHex(span.traceId);
  if (traceId.length !== 32 || isAllZeroHex(traceId)) return reject('invalid_trace_id'), null;
  const spanId = idToHex(span.spanId);
  if (spanId.length !== 16 || isAllZeroHex(spanId)) return reject('invalid_span_id'), null;
  let parentSpanId = idToHex(span.parentSpanId);
  if (parentSpanId !== '' && parentSpanId.length !== 16) return reject('invalid_parent_span_id'), null;
  if (isAllZeroHex(parentSpanId)) parentSpanId = '';
  const start = uint64ToString(span.startTimeUnixNano);
  const end = uint64ToString(span.endTimeUnixNano);
  if (start === null || end === null || start === '0') return reject('invalid_timestamp'), null;
  const kind = enumValue(span.kind, SPAN_KINDS, 5);
  if (kind === null) return reject('invalid_kind'), null;
  const statusCode = enumValue(span.status?.code, STATUS_CODES, 2);
  if (statusCode === null) return reject('invalid_status'), null;

  const timestampSec = nanosToSeconds(start);
  const events = span.events;
  const links = span.links;
  // Ids are validated hex and numbers are numbers, so only free text goes through JSON.stringify.
  const text =
    `"timestamp":${timestampSec},"trace_id":"${traceId}","span_id":"${spanId}","parent_span_id":"${parentSpanId}",` +
    `"trace_state":${q(span.traceState ?? '')},"flags":${u32(span.flags)},"name":${q(span.name ?? '')},"kind":${kind},` +
    `"start_time_unix_nano":"${start}","end_time_unix_nano":"${end}","duration_ns":"${durationNs(start, end)}",` +
    `"status_code":${statusCode},"status_message":${q(span.status?.message ?? '')},` +
    `${attributeMembers('attr', span.attributes)},"dropped_attributes_count":${u32(span.droppedAttributesCount)},` +
    `${events && events.length ? eventMembers(events) : NO_EVENTS},"dropped_events_count":${u32(span.droppedEventsCount)},` +
    `${links && links.length ? linkMembers(links) : NO_LINKS},"dropped_links_count":${u32(span.droppedLinksCount)}`;
  return { text, timestampSec };
}

/** A readable summary for `partial_success.error_message`. */
export function describeRejections(rejectedBy: NormalizeResult['rejectedBy']): string {
  return Object.entries(rejectedBy)
    .map(([reason, count]) => `${count} span(s) ${reason}: ${REASON_TEXT[reason as SpanRejectReason]}`)
    .join('; ');
}
