import { encodeValue } from './anyvalue.js';
import { addDropped, capText, DEFAULT_SPAN_LIMITS, keyValuesJson, type SpanLimits } from './limits.js';
import { durationNs, idToHex, isAllZeroHex, nanosToSeconds, uint64ToString } from './scalars.js';
import { ValueType, type OtlpEvent, type OtlpKeyValue, type OtlpLink, type OtlpSpan, type OtlpTraceRequest } from './types.js';

/** Why a span was refused; bounded, so it can label metrics. */
export type SpanRejectReason =
  | 'invalid_trace_id'
  | 'invalid_span_id'
  | 'invalid_parent_span_id'
  | 'invalid_timestamp'
  | 'timestamp_in_future'
  | 'invalid_kind'
  | 'invalid_status';

const REASON_TEXT: Record<SpanRejectReason, string> = {
  invalid_trace_id: 'trace_id must be 16 bytes and not all zero',
  invalid_span_id: 'span_id must be 8 bytes and not all zero',
  invalid_parent_span_id: 'parent_span_id must be empty or 8 bytes',
  invalid_timestamp: 'start_time_unix_nano must be a non-zero unsigned 64-bit integer',
  timestamp_in_future: 'start_time_unix_nano is more than 24 h after the request arrived (check the clock or the unit: nanoseconds)',
  invalid_kind: 'kind must be a SpanKind (0-5)',
  invalid_status: 'status.code must be a StatusCode (0-2)',
};

export interface NormalizeContext {
  orgId: string;
  workspaceId: string;
  batchId: string;
  /** when the collector accepted the request, in Unix seconds */
  ingestedAtSec: number;
  /** per-span limits (default DEFAULT_SPAN_LIMITS) */
  limits?: SpanLimits;
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

function serviceNameOf(attrs: OtlpKeyValue[] | null | undefined, limits: SpanLimits): string {
  if (attrs) {
    const n = Math.min(attrs.length, limits.maxAttributesPerSpan);
    for (let i = 0; i < n; i++) {
      const kv = attrs[i]!;
      if (kv.key === 'service.name') {
        const v = encodeValue(kv.value);
        if (v.text) return capText(v.text, limits.maxAttributeValueBytes);
      }
    }
  }
  return 'unknown_service';
}

/** Kinds whose stored text stops being what it says once cut; a cut value is stored as a string. */
const CUT_BECOMES_STRING: ReadonlySet<number> = new Set([ValueType.bytes, ValueType.array, ValueType.kvlist]);

/**
 * JSON members of one attribute set's four parallel columns, written in one pass: this
 * runs for every span, and building four arrays to stringify them doubled the garbage.
 * At most `maxAttributesPerSpan` are written (the caller counts the rest as dropped), and
 * keys and values are cut to `maxAttributeValueBytes` (one comparison when short).
 */
function attributeMembers(column: 'attr' | 'resource', kvs: OtlpKeyValue[] | null | undefined, limits: SpanLimits): string {
  if (!kvs || kvs.length === 0) return column === 'attr' ? NO_ATTRS : NO_RESOURCE_ATTRS;
  const maxBytes = limits.maxAttributeValueBytes;
  const n = Math.min(kvs.length, limits.maxAttributesPerSpan);
  let keys = '';
  let types = '';
  let values = '';
  let numbers = '';
  for (let i = 0; i < n; i++) {
    const kv = kvs[i]!;
    const v = encodeValue(kv.value);
    const sep = i === 0 ? '' : ',';
    const key = kv.key ?? '';
    let type: number = v.type;
    let text = v.text;
    if (text.length * 3 > maxBytes) {
      text = capText(text, maxBytes);
      if (text !== v.text && CUT_BECOMES_STRING.has(type)) type = ValueType.string;
    }
    keys += sep + q(key.length * 3 > maxBytes ? capText(key, maxBytes) : key);
    types += sep + type;
    values += sep + q(text);
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
    // Keys are service names from the payload: no prototype, so `__proto__` is just a name.
    usageByService: Object.create(null) as Record<string, ServiceUsage>,
    minTimestampSec: Number.MAX_SAFE_INTEGER,
    maxTimestampSec: 0,
  };
  const tenant = `"org_id":${q(ctx.orgId)},"workspace_id":${q(ctx.workspaceId)},"batch_id":${q(ctx.batchId)},"ingested_at":${ctx.ingestedAtSec}`;
  const reject = (reason: SpanRejectReason): void => {
    result.rejected++;
    result.rejectedBy[reason] = (result.rejectedBy[reason] ?? 0) + 1;
  };
  const limits = ctx.limits ?? DEFAULT_SPAN_LIMITS;
  const maxBytes = limits.maxAttributeValueBytes;
  const spanCtx: SpanContext = { limits, maxStartSec: ctx.ingestedAtSec + limits.maxFutureSeconds, reject };

  for (const rs of request.resourceSpans ?? []) {
    if (!rs || typeof rs !== 'object') continue;
    const resourceAttrs = rs.resource?.attributes;
    const serviceName = serviceNameOf(resourceAttrs, limits);
    const resourceDropped = addDropped(rs.resource?.droppedAttributesCount, droppedBeyond(resourceAttrs, limits.maxAttributesPerSpan));
    const resource =
      `"service_name":${q(serviceName)},${attributeMembers('resource', resourceAttrs, limits)},` +
      `"resource_dropped_attributes_count":${resourceDropped},"resource_schema_url":${q(capText(rs.schemaUrl ?? '', maxBytes))}`;
    for (const ss of rs.scopeSpans ?? []) {
      if (!ss || typeof ss !== 'object') continue;
      const scope = ss.scope;
      const scopeAttrs = keyValuesJson(scope?.attributes, limits);
      const prefix =
        `${tenant},${resource},"scope_name":${q(capText(scope?.name ?? '', maxBytes))},"scope_version":${q(capText(scope?.version ?? '', maxBytes))},` +
        `"scope_attributes":${q(scopeAttrs.json)},"scope_dropped_attributes_count":${addDropped(scope?.droppedAttributesCount, scopeAttrs.dropped)},` +
        `"scope_schema_url":${q(capText(ss.schemaUrl ?? '', maxBytes))}`;
      // `{` + prefix + `,` + span members + `}`
      const prefixBytes = Buffer.byteLength(prefix) + 2;
      const lines: string[] = [];
      for (const span of ss.spans ?? []) {
        if (!span || typeof span !== 'object') continue;
        const line = spanMembers(span, spanCtx);
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

const droppedBeyond = (items: readonly unknown[] | null | undefined, max: number): number => (items && items.length > max ? items.length - max : 0);

/** The first `maxEventsPerSpan` events as parallel columns. */
function eventMembers(events: readonly (OtlpEvent | null)[], limits: SpanLimits): string {
  const n = Math.min(events.length, limits.maxEventsPerSpan);
  const times: string[] = new Array(n);
  const names: string[] = new Array(n);
  const attrs: string[] = new Array(n);
  const dropped: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const e = events[i];
    const kv = keyValuesJson(e?.attributes, limits);
    times[i] = uint64ToString(e?.timeUnixNano) ?? '0';
    names[i] = capText(e?.name ?? '', limits.maxAttributeValueBytes);
    attrs[i] = kv.json;
    dropped[i] = addDropped(e?.droppedAttributesCount, kv.dropped);
  }
  return `"events_time_unix_nano":${q(times)},"events_name":${q(names)},"events_attributes":${q(attrs)},"events_dropped_attributes_count":${q(dropped)}`;
}

/** The first `maxLinksPerSpan` links as parallel columns. */
function linkMembers(links: readonly (OtlpLink | null)[], limits: SpanLimits): string {
  const n = Math.min(links.length, limits.maxLinksPerSpan);
  const maxBytes = limits.maxAttributeValueBytes;
  const traceIds: string[] = new Array(n);
  const spanIds: string[] = new Array(n);
  const states: string[] = new Array(n);
  const flags: number[] = new Array(n);
  const attrs: string[] = new Array(n);
  const dropped: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const l = links[i];
    const kv = keyValuesJson(l?.attributes, limits);
    traceIds[i] = capText(idToHex(l?.traceId), maxBytes);
    spanIds[i] = capText(idToHex(l?.spanId), maxBytes);
    states[i] = capText(l?.traceState ?? '', maxBytes);
    flags[i] = u32(l?.flags);
    attrs[i] = kv.json;
    dropped[i] = addDropped(l?.droppedAttributesCount, kv.dropped);
  }
  return (
    `"links_trace_id":${q(traceIds)},"links_span_id":${q(spanIds)},"links_trace_state":${q(states)},"links_flags":${q(flags)},` +
    `"links_attributes":${q(attrs)},"links_dropped_attributes_count":${q(dropped)}`
  );
}

const NO_EVENTS = eventMembers([], DEFAULT_SPAN_LIMITS);
const NO_LINKS = linkMembers([], DEFAULT_SPAN_LIMITS);

/** What every span of one request is checked against. */
interface SpanContext {
  limits: SpanLimits;
  /** latest accepted start, in Unix seconds */
  maxStartSec: number;
  reject(reason: SpanRejectReason): void;
}

function spanMembers(span: OtlpSpan, ctx: SpanContext): { text: string; timestampSec: number } | null {
  const { reject, limits } = ctx;
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
  if (timestampSec > ctx.maxStartSec) return reject('timestamp_in_future'), null;
  const maxBytes = limits.maxAttributeValueBytes;
  const attributes = span.attributes;
  const events = span.events;
  const links = span.links;
  const droppedAttributes = droppedBeyond(attributes, limits.maxAttributesPerSpan);
  const droppedEvents = droppedBeyond(events, limits.maxEventsPerSpan);
  const droppedLinks = droppedBeyond(links, limits.maxLinksPerSpan);
  // Ids are validated hex and numbers are numbers, so only free text goes through JSON.stringify.
  // End before start is kept as sent, with duration 0.
  const text =
    `"timestamp":${timestampSec},"trace_id":"${traceId}","span_id":"${spanId}","parent_span_id":"${parentSpanId}",` +
    `"trace_state":${q(capText(span.traceState ?? '', maxBytes))},"flags":${u32(span.flags)},"name":${q(capText(span.name ?? '', maxBytes))},"kind":${kind},` +
    `"start_time_unix_nano":"${start}","end_time_unix_nano":"${end}","duration_ns":"${durationNs(start, end)}",` +
    `"status_code":${statusCode},"status_message":${q(capText(span.status?.message ?? '', maxBytes))},` +
    `${attributeMembers('attr', attributes, limits)},"dropped_attributes_count":${droppedAttributes ? addDropped(span.droppedAttributesCount, droppedAttributes) : u32(span.droppedAttributesCount)},` +
    `${events && events.length ? eventMembers(events, limits) : NO_EVENTS},"dropped_events_count":${droppedEvents ? addDropped(span.droppedEventsCount, droppedEvents) : u32(span.droppedEventsCount)},` +
    `${links && links.length ? linkMembers(links, limits) : NO_LINKS},"dropped_links_count":${droppedLinks ? addDropped(span.droppedLinksCount, droppedLinks) : u32(span.droppedLinksCount)}`;
  return { text, timestampSec };
}

/** A readable summary for `partial_success.error_message`. */
export function describeRejections(rejectedBy: NormalizeResult['rejectedBy']): string {
  return Object.entries(rejectedBy)
    .map(([reason, count]) => `${count} span(s) ${reason}: ${REASON_TEXT[reason as SpanRejectReason]}`)
    .join('; ');
}
