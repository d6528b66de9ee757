import { canonicalValue } from './anyvalue.js';
import type { OtlpKeyValue } from './types.js';

/**
 * What one span may carry. Nothing over a limit rejects the span: extra attributes,
 * events and links are dropped (and added to the span's `dropped_*_count`), over-long
 * text is cut at a UTF-8 boundary and marked. Documented in docs/collector-limits.md.
 */
export interface SpanLimits {
  /** attributes kept per attribute set (span, resource, scope, event, link); the rest are dropped and counted */
  maxAttributesPerSpan: number;
  /** UTF-8 bytes kept of an attribute key or value and of free text (names, status message, trace state) */
  maxAttributeValueBytes: number;
  /** events kept per span; the rest are dropped and added to `dropped_events_count` */
  maxEventsPerSpan: number;
  /** links kept per span; the rest are dropped and added to `dropped_links_count` */
  maxLinksPerSpan: number;
  /** a span starting more than this many seconds after the request arrived is rejected (`timestamp_in_future`) */
  maxFutureSeconds: number;
}

/** The OpenTelemetry SDKs' own defaults for counts (128); values up to 128 KiB so LLM prompts mostly fit. */
export const DEFAULT_SPAN_LIMITS: Readonly<SpanLimits> = {
  maxAttributesPerSpan: 128,
  maxAttributeValueBytes: 128 * 1024,
  maxEventsPerSpan: 128,
  maxLinksPerSpan: 128,
  maxFutureSeconds: 24 * 60 * 60,
};

/** Suffix appended to text cut by a limit; `N` is the number of UTF-8 bytes removed. */
export const truncationMarker = (removedBytes: number): string => `…[truncated ${removedBytes} bytes]`;

/**
 * `text` cut to at most `maxBytes` UTF-8 bytes (on a character boundary) plus the
 * truncation marker, or `text` itself. The first test is one comparison: a string of
 * n UTF-16 units is at most 3n UTF-8 bytes, so the usual short value costs nothing more.
 */
export function capText(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const buf = Buffer.from(text, 'utf8');
  let end = maxBytes;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // back off a continuation byte
  return buf.toString('utf8', 0, end) + truncationMarker(bytes - end);
}

const U32_MAX = 4294967295;

/** A client-reported dropped count plus what a limit dropped here, as a UInt32 column holds it. */
export function addDropped(reported: unknown, dropped: number): number {
  const base = typeof reported === 'number' && reported >= 0 && Number.isFinite(reported) ? Math.floor(reported) : 0;
  return Math.min(base + dropped, U32_MAX);
}

type Canonical = Record<string, unknown>;

/** One canonical value within the byte limit; an array or kvlist too long as JSON becomes its cut JSON text. */
function cappedCanonical(value: OtlpKeyValue['value'], maxBytes: number): Canonical {
  const c = canonicalValue(value);
  if (typeof c.stringValue === 'string') {
    const s = capText(c.stringValue, maxBytes);
    return s === c.stringValue ? c : { stringValue: s };
  }
  if (typeof c.bytesValue === 'string') {
    const s = capText(c.bytesValue, maxBytes);
    return s === c.bytesValue ? c : { stringValue: s };
  }
  if (c.arrayValue !== undefined || c.kvlistValue !== undefined) {
    const json = JSON.stringify(c);
    const s = capText(json, maxBytes);
    return s === json ? c : { stringValue: s };
  }
  return c;
}

/**
 * The JSON text of an attribute set in canonical OTLP/JSON form (scope, event and link
 * attributes are stored this way), at most `maxAttributesPerSpan` of them, each key and
 * value within `maxAttributeValueBytes`. `dropped` is how many were left out.
 */
export function keyValuesJson(kvs: readonly OtlpKeyValue[] | null | undefined, limits: SpanLimits): { json: string; dropped: number } {
  if (!kvs || kvs.length === 0) return EMPTY_KEY_VALUES;
  const n = Math.min(kvs.length, limits.maxAttributesPerSpan);
  const out: Array<{ key: string; value: Canonical }> = new Array(n);
  for (let i = 0; i < n; i++) {
    const kv = kvs[i];
    out[i] = { key: capText(kv?.key ?? '', limits.maxAttributeValueBytes), value: cappedCanonical(kv?.value, limits.maxAttributeValueBytes) };
  }
  return { json: JSON.stringify(out), dropped: kvs.length - n };
}
const EMPTY_KEY_VALUES = { json: '[]', dropped: 0 } as const;

/** Lone UTF-16 surrogates: JSON `\ud800` escapes can make them; ClickHouse refuses them in an insert. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `text` with every lone surrogate replaced by U+FFFD, so it encodes as valid UTF-8. */
export function toWellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\ufffd');
}
