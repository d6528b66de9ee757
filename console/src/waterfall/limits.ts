import type { Span, TraceDetail } from '../api/types';
import { formatBytes, formatCount } from '../time/format';

/**
 * What the ingest limits did to a span and what the trace detail left out, in words for
 * the span panel and the trace page. Pure. The API names a cut field by its path in the
 * span (`attributes.<key>`, `events.<i>.name`, …; `#key` when the key itself was cut).
 */
export interface LimitNote {
  /** where: "attribute prompt", "span name", "event 2 attribute x" */
  what: string;
  /** what happened: "cut, 200 KiB as sent", "3 dropped" */
  detail: string;
}

const PLACES: ReadonlyArray<[prefix: string, label: string]> = [
  ['attributes.', 'attribute'],
  ['resource.', 'resource attribute'],
  ['scope.attributes.', 'scope attribute'],
];

const FIXED: Readonly<Record<string, string>> = {
  name: 'span name',
  traceState: 'trace state',
  'status.message': 'status message',
  resourceSchemaUrl: 'resource schema URL',
  'scope.name': 'scope name',
  'scope.version': 'scope version',
  'scope.schemaUrl': 'scope schema URL',
};

const ITEM = /^(events|links)\.(\d+)\.(.+)$/;
const ITEM_FIELDS: Readonly<Record<string, string>> = { name: 'name', traceId: 'trace id', spanId: 'span id', traceState: 'trace state' };

/** A truncated field path in words: `attributes.prompt` → `attribute prompt`, `events.0.name` → `event 1 name`. */
export function describeField(path: string): string {
  const isKey = path.endsWith('#key');
  const field = isKey ? path.slice(0, -'#key'.length) : path;
  const fixed = FIXED[field];
  if (fixed) return fixed;
  for (const [prefix, label] of PLACES) {
    if (field.startsWith(prefix)) return `${label} ${isKey ? 'key ' : ''}${field.slice(prefix.length)}`;
  }
  const item = ITEM.exec(field);
  if (item) {
    const [, list, index, rest] = item as unknown as [string, 'events' | 'links', string, string];
    const where = `${list === 'events' ? 'event' : 'link'} ${Number(index) + 1}`;
    if (rest.startsWith('attributes.')) return `${where} attribute ${isKey ? 'key ' : ''}${rest.slice('attributes.'.length)}`;
    return `${where} ${ITEM_FIELDS[rest] ?? rest}`;
  }
  return path;
}

const dropped = (n: number | undefined): string | null => (n ? `${formatCount(n)} dropped (by the SDK or the ingest limit)` : null);

/** Every cut and drop on one span: cut text first (with its size as sent), then dropped counts. */
export function spanLimitNotes(span: Span): LimitNote[] {
  const notes: LimitNote[] = (span.truncatedFields ?? []).map((f) => ({ what: describeField(f.field), detail: `cut, ${formatBytes(f.originalBytes)} as sent` }));
  const add = (what: string, n: number | undefined): void => {
    const detail = dropped(n);
    if (detail) notes.push({ what, detail });
  };
  add('attributes', span.droppedAttributesCount);
  add('resource attributes', span.resourceDroppedAttributesCount);
  add('scope attributes', span.scope.droppedAttributesCount);
  add('events', span.droppedEventsCount);
  add('links', span.droppedLinksCount);
  span.events.forEach((e, i) => add(`event ${i + 1} attributes`, e.droppedAttributesCount));
  span.links.forEach((l, i) => add(`link ${i + 1} attributes`, l.droppedAttributesCount));
  return notes;
}

/** Attribute key → size as sent, for the values cut under `prefix` (`attributes.`, `resource.`). */
export function cutValues(span: Span, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of span.truncatedFields ?? []) {
    if (f.field.startsWith(prefix) && !f.field.endsWith('#key')) out.set(f.field.slice(prefix.length), f.originalBytes);
  }
  return out;
}

/** The trace page's banner for a trace larger than the detail returns; null when it is whole. */
export function truncatedTraceBanner(detail: Pick<TraceDetail, 'truncated' | 'totalSpanCount' | 'spans'>): string | null {
  if (!detail.truncated) return null;
  const shown = formatCount(detail.spans.length);
  return detail.totalSpanCount !== undefined
    ? `Showing the first ${shown} of ${formatCount(detail.totalSpanCount)} spans: this trace is larger than the API returns at once.`
    : `Showing the first ${shown} spans: this trace is larger than the API returns at once.`;
}
