import { z } from 'zod';
import { MAX_QUERY_RANGE_DAYS, checkRange, durationMsSchema, repeatable, timeRangeShape } from '../params.js';
import { decodeTraceCursor, TRACE_SORTS, type TraceCursor, type TraceSort } from './cursor.js';
import { MAX_ATTRIBUTE_FILTERS, isAttributeParam, parseAttributeParam, type AttributeFilter } from './filters.js';

export const TRACE_STATUSES = ['unset', 'ok', 'error'] as const;
export type TraceStatus = (typeof TRACE_STATUSES)[number];

export const DEFAULT_TRACE_LIMIT = 20;
export const MAX_TRACE_LIMIT = 100;

/** What `searchTraces` takes: validated, typed. */
export interface TraceSearchInput {
  from: Date;
  to: Date;
  services: string[];
  names: string[];
  /** case-insensitive substring of the span name */
  q?: string;
  status?: TraceStatus;
  minDurationMs?: number;
  maxDurationMs?: number;
  attributes: AttributeFilter[];
  sort: TraceSort;
  limit: number;
  cursor?: TraceCursor;
}

const known = {
  ...timeRangeShape(MAX_QUERY_RANGE_DAYS),
  service: repeatable.optional().describe('service.name of a matching span; repeat for any of several'),
  name: repeatable.optional().describe('exact span name of a matching span; repeat for any of several'),
  q: z.string().min(1).max(1000).optional().describe('case-insensitive substring of a matching span name'),
  status: z.enum(TRACE_STATUSES).optional().describe('status of a matching span'),
  minDurationMs: durationMsSchema.optional().describe('trace duration at least this many milliseconds'),
  maxDurationMs: durationMsSchema.optional().describe('trace duration at most this many milliseconds'),
  sort: z.enum(TRACE_SORTS).default('start').describe('start: newest trace first; duration: longest first'),
  limit: z.coerce.number().int().min(1).max(MAX_TRACE_LIMIT).default(DEFAULT_TRACE_LIMIT).describe(`page size, 1–${MAX_TRACE_LIMIT}`),
  cursor: z.string().min(1).optional().describe('nextCursor of the previous page'),
};

export const TRACE_SEARCH_DESCRIPTION = [
  `Traces with at least one span in [from, to) (at most ${MAX_QUERY_RANGE_DAYS} days) that matches every given span filter (service, name, q, status and attribute filters hold on the same span); minDurationMs/maxDurationMs bound the trace's duration.`,
  'Attribute filters: attr.<key>=<value> (span attribute equals, compared as text: 500, true, 1.5), resource.<key>=<value> (resource attribute),',
  'attrNum.<key>=<op>:<number> and resourceNum.<key>=<op>:<number> with op eq|ne|gt|gte|lt|lte (int/double attributes only),',
  `attrExists=<key> and resourceExists=<key>. Every parameter may repeat; at most ${MAX_ATTRIBUTE_FILTERS} attribute filters.`,
  `Pages of limit traces (default ${DEFAULT_TRACE_LIMIT}, at most ${MAX_TRACE_LIMIT}); pass nextCursor back as cursor.`,
  'A trace is summarised from its spans within 1 hour of the searched range, so results are exact for traces up to 1 hour long; a longer trace whose summary misses spans comes with truncated: true and its totalSpanCount.',
  'sort=start (newest first) reads only as far back as a page needs; sort=duration aggregates every matching trace of the range, so keep its range short.',
].join(' ');

/**
 * The search's query string: known parameters plus the attribute grammar (dynamic
 * names, see filters.ts), before the cross-field checks. An object schema, so the
 * OpenAPI document can list its parameters.
 */
export const traceSearchParamsSchema = z.object(known).catchall(repeatable);
export type TraceSearchParams = z.output<typeof traceSearchParamsSchema>;

/**
 * Parsed parameters → search input: the attribute grammar, the range and duration
 * checks and the cursor. Unknown parameters are refused so a typo is not silently ignored.
 */
function toTraceSearchInput(raw: TraceSearchParams, ctx: z.RefinementCtx): TraceSearchInput {
  const attributes: AttributeFilter[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name in known) continue;
    if (!isAttributeParam(name)) {
      ctx.addIssue({ code: 'custom', path: [name], message: 'unknown parameter' });
      continue;
    }
    const parsed = parseAttributeParam(name, value as string[]);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', path: [name], message: parsed });
    else attributes.push(...parsed);
  }
  if (attributes.length > MAX_ATTRIBUTE_FILTERS) {
    ctx.addIssue({ code: 'custom', path: ['attr'], message: `at most ${MAX_ATTRIBUTE_FILTERS} attribute filters` });
  }
  checkRange(raw, MAX_QUERY_RANGE_DAYS, ctx);
  if (raw.minDurationMs !== undefined && raw.maxDurationMs !== undefined && raw.minDurationMs > raw.maxDurationMs) {
    ctx.addIssue({ code: 'custom', path: ['maxDurationMs'], message: 'must not be below minDurationMs' });
  }
  let cursor: TraceCursor | undefined;
  if (raw.cursor !== undefined) {
    const c = decodeTraceCursor(raw.cursor);
    if (!c) ctx.addIssue({ code: 'custom', path: ['cursor'], message: 'not a cursor this API returned' });
    else if (c.sort !== raw.sort) ctx.addIssue({ code: 'custom', path: ['cursor'], message: `the cursor belongs to sort=${c.sort}` });
    else cursor = c;
  }
  return {
    from: raw.from,
    to: raw.to,
    services: raw.service ?? [],
    names: raw.name ?? [],
    ...(raw.q !== undefined ? { q: raw.q } : {}),
    ...(raw.status !== undefined ? { status: raw.status } : {}),
    ...(raw.minDurationMs !== undefined ? { minDurationMs: raw.minDurationMs } : {}),
    ...(raw.maxDurationMs !== undefined ? { maxDurationMs: raw.maxDurationMs } : {}),
    attributes,
    sort: raw.sort,
    limit: raw.limit,
    ...(cursor ? { cursor } : {}),
  };
}

/** The second step alone, over already parsed parameters (what a route's handler holds). */
export const traceSearchInputSchema = z.custom<TraceSearchParams>().transform(toTraceSearchInput);
/** Query string → search input in one go. */
export const traceSearchQuerySchema = traceSearchParamsSchema.transform(toTraceSearchInput);

export const traceSummarySchema = z.object({
  traceId: z.string(),
  rootServiceName: z.string().describe('service of the root span (the earliest span when the root is missing)'),
  rootSpanName: z.string(),
  startTimeUnixNano: z.string().describe('decimal nanoseconds'),
  endTimeUnixNano: z.string().describe('decimal nanoseconds'),
  durationMs: z.number(),
  spanCount: z.number().int().describe('spans the summary was made from (see truncated)'),
  errorCount: z.number().int(),
  services: z.array(z.string()),
  truncated: z
    .boolean()
    .describe("true when the summary misses some of the trace's spans (a trace longer than about 1 hour, or reaching more than 1 hour past the searched range): spanCount, errorCount, services and the times then cover only the spans it read"),
  totalSpanCount: z.number().int().describe('every span the trace has; above spanCount exactly when truncated'),
});
export type TraceSummary = z.infer<typeof traceSummarySchema>;

export const traceSearchResultSchema = z.object({
  traces: z.array(traceSummarySchema),
  nextCursor: z.string().nullable(),
});
export type TraceSearchResult = z.infer<typeof traceSearchResultSchema>;

/** Trace ids are 32 lowercase hex digits; upper case is accepted and folded. */
export const traceIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{32}$/, 'a trace id is 32 hex digits')
  .transform((s) => s.toLowerCase());
