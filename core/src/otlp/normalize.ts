import { encodeValue } from './anyvalue.js';
import { addDropped, capText, DEFAULT_SPAN_LIMITS, keyValuesJson, Truncations, type SpanLimits } from './limits.js';
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
  /** the API key that sent the request (the ingest ledger counts stored spans per key); rows without one read '' */
  keyId?: string;
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

/**
 * What the per-span limits took from the accepted spans, summed over their rows (a cut
 * resource attribute counts once per span that carries it): values cut by the value
 * limit, and attributes, events and links dropped by the count limits (what the client
 * itself reported as dropped is not counted here).
 */
export interface LimitTally {
  truncatedValues: number;
  droppedAttributes: number;
  droppedEvents: number;
  droppedLinks: number;
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
  /** what the per-span limits cut or dropped; each row also says so itself */
  limited: LimitTally;
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

/** The limits, and the log the cuts of one row (or of a resource or scope shared by rows) are noted in. */
interface LimitsAt {
  limits: SpanLimits;
  cuts: Truncations;
}

/** Kinds whose stored text stops being what it says once cut; a cut value is stored as a string. */
const CUT_BECOMES_STRING: ReadonlySet<number> = new Set([ValueType.bytes, ValueType.array, ValueType.kvlist]);

/**
 * JSON members of one attribute set's four parallel columns, written in one pass: this
 * runs for every span, and building four arrays to stringify them doubled the garbage.
 * At most `maxAttributesPerSpan` are written (the caller counts the rest as dropped), and
 * keys and values are cut to `maxAttributeValueBytes` (one comparison when short).
 */
function attributeMembers(column: 'attr' | 'resource', kvs: OtlpKeyValue[] | null | undefined, at: LimitsAt): string {
  if (!kvs || kvs.length === 0) return column === 'attr' ? NO_ATTRS : NO_RESOURCE_ATTRS;
  const { limits, cuts } = at;
  const maxBytes = limits.maxAttributeValueBytes;
  const field = column === 'attr' ? 'attributes.' : 'resource.';
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
    const storedKey = key.length * 3 > maxBytes ? cuts.capKey(field, key) : key;
    let type: number = v.type;
    let text = v.text;
    if (text.length * 3 > maxBytes) {
      text = cuts.capValue(field, storedKey, text);
      if (text !== v.text && CUT_BECOMES_STRING.has(type)) type = ValueType.string;
    }
    keys += sep + q(storedKey);
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
    limited: { truncatedValues: 0, droppedAttributes: 0, droppedEvents: 0, droppedLinks: 0 },
  };
  const key = ctx.keyId === undefined ? '' : `,"key_id":${q(ctx.keyId)}`;
  const tenant = `"org_id":${q(ctx.orgId)},"workspace_id":${q(ctx.workspaceId)}${key},"batch_id":${q(ctx.batchId)},"ingested_at":${ctx.ingestedAtSec}`;
  const reject = (reason: SpanRejectReason): void => {
    result.rejected++;
    result.rejectedBy[reason] = (result.rejectedBy[reason] ?? 0) + 1;
  };
  const limits = ctx.limits ?? DEFAULT_SPAN_LIMITS;
  const maxBytes = limits.maxAttributeValueBytes;
  const spanCtx: SpanContext = { limits, maxStartSec: ctx.ingestedAtSec + limits.maxFutureSeconds, reject, cuts: new Truncations(maxBytes), limited: result.limited };

  for (const rs of request.resourceSpans ?? []) {
    if (!rs || typeof rs !== 'object') continue;
    const resourceAttrs = rs.resource?.attributes;
    const serviceName = serviceNameOf(resourceAttrs, limits);
    const resourceDroppedHere = droppedBeyond(resourceAttrs, limits.maxAttributesPerSpan);
    const resourceDropped = addDropped(rs.resource?.droppedAttributesCount, resourceDroppedHere);
    const resourceCuts = new Truncations(maxBytes);
    const resource =
      `"service_name":${q(serviceName)},${attributeMembers('resource', resourceAttrs, { limits, cuts: resourceCuts })},` +
      `"resource_dropped_attributes_count":${resourceDropped},"resource_schema_url":${q(resourceCuts.cap('resourceSchemaUrl', rs.schemaUrl ?? ''))}`;
    for (const ss of rs.scopeSpans ?? []) {
      if (!ss || typeof ss !== 'object') continue;
      const scope = ss.scope;
      // Scope name and version are noted here and cut where the prefix is built (the same cut).
      const scopeCuts = new Truncations(maxBytes);
      scopeCuts.cap('scope.name', scope?.name ?? '');
      scopeCuts.cap('scope.version', scope?.version ?? '');
      const scopeAttrs = keyValuesJson(scope?.attributes, limits, { log: scopeCuts, prefix: 'scope.attributes.' });
      scopeCuts.cap('scope.schemaUrl', ss.schemaUrl ?? '');
      // The cuts and drops of the resource and the scope belong to every row that carries them.
      const shared: SharedLimits = { cuts: [resourceCuts, scopeCuts], droppedAttributes: resourceDroppedHere + scopeAttrs.dropped };
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
        const text = line.text + truncationMembers(shared.cuts, spanCtx);
        result.limited.droppedAttributes += shared.droppedAttributes;
        const bytes = rowBytes(prefixBytes + Buffer.byteLength(text));
        lines.push(`${text},"size_bytes":${bytes}`);
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

/** What the limits did to the resource and scope of a group of rows. */
interface SharedLimits {
  cuts: readonly Truncations[];
  droppedAttributes: number;
}

/**
 * The row's `truncated_fields`/`truncated_original_bytes` members (resource and scope cuts
 * first, then the span's), counted in the tally. A row with no cut gets no members at
 * all: ClickHouse fills the empty arrays, so the usual span costs not a byte more.
 */
function truncationMembers(shared: readonly Truncations[], span: SpanContext): string {
  let n = span.cuts.count;
  for (const c of shared) n += c.count;
  if (n === 0) return '';
  span.limited.truncatedValues += n;
  const fields: string[] = [];
  const bytes: number[] = [];
  for (const c of [...shared, span.cuts]) fields.push(...c.fields), bytes.push(...c.originalBytes);
  return `,"truncated_fields":${q(fields)},"truncated_original_bytes":${q(bytes)}`;
}

/** `text` within the limit, a cut noted as `<list>.<i>.<field>` (the path is built only for long text). */
function capItem(cuts: Truncations, text: string, at: { list: 'events' | 'links'; i: number; field: string }): string {
  return text.length * 3 > cuts.maxBytes ? cuts.cap(`${at.list}.${at.i}.${at.field}`, text) : text;
}

/** The first `maxEventsPerSpan` events as parallel columns. */
function eventMembers(events: readonly (OtlpEvent | null)[], ctx: SpanContext): string {
  const { limits, cuts } = ctx;
  const n = Math.min(events.length, limits.maxEventsPerSpan);
  const times: string[] = new Array(n);
  const names: string[] = new Array(n);
  const attrs: string[] = new Array(n);
  const dropped: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const e = events[i];
    const kv = e?.attributes?.length ? keyValuesJson(e.attributes, limits, { log: cuts, prefix: `events.${i}.attributes.` }) : NO_KEY_VALUES;
    times[i] = uint64ToString(e?.timeUnixNano) ?? '0';
    const name = e?.name ?? '';
    names[i] = name.length * 3 > cuts.maxBytes ? capItem(cuts, name, { list: 'events', i, field: 'name' }) : name;
    attrs[i] = kv.json;
    dropped[i] = addDropped(e?.droppedAttributesCount, kv.dropped);
    ctx.limited.droppedAttributes += kv.dropped;
  }
  return `"events_time_unix_nano":${q(times)},"events_name":${q(names)},"events_attributes":${q(attrs)},"events_dropped_attributes_count":${q(dropped)}`;
}

/** The first `maxLinksPerSpan` links as parallel columns. */
function linkMembers(links: readonly (OtlpLink | null)[], ctx: SpanContext): string {
  const { limits, cuts } = ctx;
  const n = Math.min(links.length, limits.maxLinksPerSpan);
  const traceIds: string[] = new Array(n);
  const spanIds: string[] = new Array(n);
  const states: string[] = new Array(n);
  const flags: number[] = new Array(n);
  const attrs: string[] = new Array(n);
  const dropped: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const l = links[i];
    const kv = l?.attributes?.length ? keyValuesJson(l.attributes, limits, { log: cuts, prefix: `links.${i}.attributes.` }) : NO_KEY_VALUES;
    traceIds[i] = capItem(cuts, idToHex(l?.traceId), { list: 'links', i, field: 'traceId' });
    spanIds[i] = capItem(cuts, idToHex(l?.spanId), { list: 'links', i, field: 'spanId' });
    states[i] = capItem(cuts, l?.traceState ?? '', { list: 'links', i, field: 'traceState' });
    flags[i] = u32(l?.flags);
    attrs[i] = kv.json;
    dropped[i] = addDropped(l?.droppedAttributesCount, kv.dropped);
    ctx.limited.droppedAttributes += kv.dropped;
  }
  return (
    `"links_trace_id":${q(traceIds)},"links_span_id":${q(spanIds)},"links_trace_state":${q(states)},"links_flags":${q(flags)},` +
    `"links_attributes":${q(attrs)},"links_dropped_attributes_count":${q(dropped)}`
  );
}

const NO_KEY_VALUES = { json: '[]', dropped: 0 } as const;
const NO_EVENTS = '"events_time_unix_nano":[],"events_name":[],"events_attributes":[],"events_dropped_attributes_count":[]';
const NO_LINKS = '"links_trace_id":[],"links_span_id":[],"links_trace_state":[],"links_flags":[],"links_attributes":[],"links_dropped_attributes_count":[]';

/** What every span of one request is checked against, and where its cuts and drops are noted. */
interface SpanContext {
  limits: SpanLimits;
  /** latest accepted start, in Unix seconds */
  maxStartSec: number;
  reject(reason: SpanRejectReason): void;
  /** the cuts of the span being normalized (cleared for each span) */
  cuts: Truncations;
  /** the request's tally, added to for every accepted span */
  limited: LimitTally;
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
  // Valid from here on: what the limits take is this accepted span's.
  const { cuts, limited } = ctx;
  cuts.clear();
  const attributes = span.attributes;
  const events = span.events;
  const links = span.links;
  const droppedAttributes = droppedBeyond(attributes, limits.maxAttributesPerSpan);
  const droppedEvents = droppedBeyond(events, limits.maxEventsPerSpan);
  const droppedLinks = droppedBeyond(links, limits.maxLinksPerSpan);
  limited.droppedAttributes += droppedAttributes;
  limited.droppedEvents += droppedEvents;
  limited.droppedLinks += droppedLinks;
  // Ids are validated hex and numbers are numbers, so only free text goes through JSON.stringify.
  // End before start is kept as sent, with duration 0.
  const text =
    `"timestamp":${timestampSec},"trace_id":"${traceId}","span_id":"${spanId}","parent_span_id":"${parentSpanId}",` +
    `"trace_state":${q(cuts.cap('traceState', span.traceState ?? ''))},"flags":${u32(span.flags)},"name":${q(cuts.cap('name', span.name ?? ''))},"kind":${kind},` +
    `"start_time_unix_nano":"${start}","end_time_unix_nano":"${end}","duration_ns":"${durationNs(start, end)}",` +
    `"status_code":${statusCode},"status_message":${q(cuts.cap('status.message', span.status?.message ?? ''))},` +
    `${attributeMembers('attr', attributes, ctx)},"dropped_attributes_count":${droppedAttributes ? addDropped(span.droppedAttributesCount, droppedAttributes) : u32(span.droppedAttributesCount)},` +
    `${events && events.length ? eventMembers(events, ctx) : NO_EVENTS},"dropped_events_count":${droppedEvents ? addDropped(span.droppedEventsCount, droppedEvents) : u32(span.droppedEventsCount)},` +
    `${links && links.length ? linkMembers(links, ctx) : NO_LINKS},"dropped_links_count":${droppedLinks ? addDropped(span.droppedLinksCount, droppedLinks) : u32(span.droppedLinksCount)}`;
  return { text, timestampSec };
}

/** A readable summary for `partial_success.error_message`. */
export function describeRejections(rejectedBy: NormalizeResult['rejectedBy']): string {
  return Object.entries(rejectedBy)
    .map(([reason, count]) => `${count} span(s) ${reason}: ${REASON_TEXT[reason as SpanRejectReason]}`)
    .join('; ');
}
