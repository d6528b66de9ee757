/**
 * The decoded ExportTraceServiceRequest as both decoders hand it over: protobufjs
 * messages (ids as bytes, 64-bit ints as Long) and parsed OTLP/JSON (ids as hex,
 * 64-bit ints as strings or numbers). Normalization reads either without copying.
 */
export interface LongLike {
  low: number;
  high: number;
  unsigned?: boolean;
}
export type Int64 = LongLike | string | number | bigint;
export type Bytes = Uint8Array | string;

export interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: Int64;
  doubleValue?: number | string;
  arrayValue?: { values?: OtlpAnyValue[] | null } | null;
  kvlistValue?: { values?: OtlpKeyValue[] | null } | null;
  bytesValue?: Bytes;
}

export interface OtlpKeyValue {
  key?: string;
  value?: OtlpAnyValue | null;
}

export interface OtlpEvent {
  timeUnixNano?: Int64;
  name?: string;
  attributes?: OtlpKeyValue[] | null;
  droppedAttributesCount?: number;
}

export interface OtlpLink {
  traceId?: Bytes;
  spanId?: Bytes;
  traceState?: string;
  attributes?: OtlpKeyValue[] | null;
  droppedAttributesCount?: number;
  flags?: number;
}

export interface OtlpSpan {
  traceId?: Bytes;
  spanId?: Bytes;
  traceState?: string;
  parentSpanId?: Bytes;
  flags?: number;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: Int64;
  endTimeUnixNano?: Int64;
  attributes?: OtlpKeyValue[] | null;
  droppedAttributesCount?: number;
  events?: OtlpEvent[] | null;
  droppedEventsCount?: number;
  links?: OtlpLink[] | null;
  droppedLinksCount?: number;
  status?: { message?: string; code?: number | string } | null;
}

export interface OtlpScopeSpans {
  scope?: { name?: string; version?: string; attributes?: OtlpKeyValue[] | null; droppedAttributesCount?: number } | null;
  spans?: OtlpSpan[] | null;
  schemaUrl?: string;
}

export interface OtlpResourceSpans {
  resource?: { attributes?: OtlpKeyValue[] | null; droppedAttributesCount?: number } | null;
  scopeSpans?: OtlpScopeSpans[] | null;
  schemaUrl?: string;
}

export interface OtlpTraceRequest {
  resourceSpans?: OtlpResourceSpans[] | null;
}

/** Attribute value kinds as stored in the `*_types` columns. */
export const ValueType = {
  empty: 0,
  string: 1,
  bool: 2,
  int: 3,
  double: 4,
  bytes: 5,
  array: 6,
  kvlist: 7,
} as const;
export type ValueTypeCode = (typeof ValueType)[keyof typeof ValueType];
