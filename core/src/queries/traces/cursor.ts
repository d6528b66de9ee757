/**
 * Keyset cursor of a trace search: the sort it belongs to, the last row's sort key
 * (trace start or duration in ns, as a decimal string) and its trace id, as base64url
 * JSON. Opaque to clients; a cursor of another sort is refused.
 */
export const TRACE_SORTS = ['start', 'duration'] as const;
export type TraceSort = (typeof TRACE_SORTS)[number];

export interface TraceCursor {
  sort: TraceSort;
  /** nanoseconds, decimal */
  key: string;
  traceId: string;
}

export function encodeTraceCursor(c: TraceCursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.key, c.traceId])).toString('base64url');
}

/** The cursor, or null when the text is not a cursor this API returned. */
export function decodeTraceCursor(text: string): TraceCursor | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      (TRACE_SORTS as readonly unknown[]).includes(v[0]) &&
      typeof v[1] === 'string' &&
      /^\d{1,20}$/.test(v[1]) &&
      BigInt(v[1]) <= 0xffffffffffffffffn &&
      typeof v[2] === 'string' &&
      /^[0-9a-f]{32}$/.test(v[2])
    ) {
      return { sort: v[0] as TraceSort, key: v[1], traceId: v[2] };
    }
  } catch {
    // not JSON: fall through
  }
  return null;
}
