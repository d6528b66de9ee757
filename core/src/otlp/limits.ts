import { canonicalValue } from './anyvalue.js';
import type { OtlpKeyValue } from './types.js';

/**
 * What one span may carry. Nothing over a limit rejects the span: extra attributes,
 * events and links are dropped (and added to the span's `dropped_*_count`), over-long
 * text is cut at a UTF-8 boundary, marked, and named with its true size in the row's
 * `truncated_fields`/`truncated_original_bytes`. Documented in docs/collector-limits.md.
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

/**
 * The fields of one row that the value limit cut, named as the trace detail names them
 * (`name`, `traceState`, `status.message`, `attributes.<key>`, `resource.<key>`,
 * `resourceSchemaUrl`, `scope.name`, `scope.version`, `scope.schemaUrl`,
 * `scope.attributes.<key>`, `events.<i>.name`, `events.<i>.attributes.<key>`,
 * `links.<i>.traceId|spanId|traceState`, `links.<i>.attributes.<key>`; `<key>` as stored,
 * and `#key` appended when the key itself was cut), each with its UTF-8 size before the
 * cut (for arrays and kvlists the size of the JSON text they are stored as, for bytes of
 * their base64). They become the row's `truncated_fields` and `truncated_original_bytes`,
 * so a cut is flagged in the row, not only inside the text. Text that fits costs one
 * comparison and no allocation.
 */
export class Truncations {
  readonly fields: string[] = [];
  readonly originalBytes: number[] = [];
  constructor(readonly maxBytes: number) {}

  get count(): number {
    return this.fields.length;
  }

  /** `text` within the limit (as `capText` cuts it); a cut is noted under `field`. */
  cap(field: string, text: string): string {
    if (text.length * 3 <= this.maxBytes) return text;
    const cut = capText(text, this.maxBytes);
    if (cut !== text) this.note(field, Buffer.byteLength(text));
    return cut;
  }

  /** An attribute key within the limit; a cut is noted as `<prefix><cut key>#key`. */
  capKey(prefix: string, key: string): string {
    if (key.length * 3 <= this.maxBytes) return key;
    const cut = capText(key, this.maxBytes);
    if (cut !== key) this.note(`${prefix}${cut}#key`, Buffer.byteLength(key));
    return cut;
  }

  /** An attribute value's text within the limit; a cut is noted as `<prefix><key>` (the key as stored). */
  capValue(prefix: string, key: string, text: string): string {
    if (text.length * 3 <= this.maxBytes) return text;
    const cut = capText(text, this.maxBytes);
    if (cut !== text) this.note(`${prefix}${key}`, Buffer.byteLength(text));
    return cut;
  }

  /** Records a cut of `field`, whose text was `originalBytes` long (kept within UInt32). */
  note(field: string, originalBytes: number): void {
    this.fields.push(field);
    this.originalBytes.push(Math.min(originalBytes, U32_MAX));
  }

  clear(): void {
    this.fields.length = 0;
    this.originalBytes.length = 0;
  }
}

/** A client-reported dropped count plus what a limit dropped here, as a UInt32 column holds it. */
export function addDropped(reported: unknown, dropped: number): number {
  const base = typeof reported === 'number' && reported >= 0 && Number.isFinite(reported) ? Math.floor(reported) : 0;
  return Math.min(base + dropped, U32_MAX);
}

type Canonical = Record<string, unknown>;

/** Where the cuts of one attribute set are noted: the row's log and the set's field prefix (`events.0.attributes.`). */
export interface CutNotes {
  log: Truncations;
  prefix: string;
}

/** One canonical value within the byte limit; an array or kvlist too long as JSON becomes its cut JSON text. */
function cappedCanonical(value: OtlpKeyValue['value'], key: string, notes: CutNotes): Canonical {
  const c = canonicalValue(value);
  const text = typeof c.stringValue === 'string' ? c.stringValue : typeof c.bytesValue === 'string' ? c.bytesValue : null;
  if (text !== null) {
    const s = notes.log.capValue(notes.prefix, key, text);
    return s === text ? c : { stringValue: s };
  }
  if (c.arrayValue !== undefined || c.kvlistValue !== undefined) {
    const json = JSON.stringify(c);
    const s = notes.log.capValue(notes.prefix, key, json);
    return s === json ? c : { stringValue: s };
  }
  return c;
}

/**
 * The JSON text of an attribute set in canonical OTLP/JSON form (scope, event and link
 * attributes are stored this way), at most `maxAttributesPerSpan` of them, each key and
 * value within the log's byte limit, every cut noted in `notes`. `dropped` is how many
 * were left out.
 */
export function keyValuesJson(kvs: readonly OtlpKeyValue[] | null | undefined, limits: SpanLimits, notes: CutNotes): { json: string; dropped: number } {
  if (!kvs || kvs.length === 0) return EMPTY_KEY_VALUES;
  const n = Math.min(kvs.length, limits.maxAttributesPerSpan);
  const out: Array<{ key: string; value: Canonical }> = new Array(n);
  for (let i = 0; i < n; i++) {
    const kv = kvs[i];
    const key = notes.log.capKey(notes.prefix, kv?.key ?? '');
    out[i] = { key, value: cappedCanonical(kv?.value, key, notes) };
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
