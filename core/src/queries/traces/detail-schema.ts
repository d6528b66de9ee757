import { z } from 'zod';

export const SPAN_KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;
export type SpanKindName = (typeof SPAN_KINDS)[number];
export const STATUS_CODES = ['unset', 'ok', 'error'] as const;

/** Maximum spans a trace detail returns; a larger trace comes back with `truncated: true`. */
export const MAX_TRACE_SPANS = 10_000;

const attributes = z.record(z.string(), z.unknown()).describe('attribute key → value, typed as sent (ints beyond 2^53 as decimal strings, bytes as base64)');

export const spanEventSchema = z.object({
  timeUnixNano: z.string(),
  name: z.string(),
  attributes,
  droppedAttributesCount: z.number().int(),
});

export const spanLinkSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  traceState: z.string(),
  flags: z.number().int(),
  attributes,
  droppedAttributesCount: z.number().int(),
});

export const spanDetailSchema = z.object({
  traceId: z.string(),
  spanId: z.string(),
  parentSpanId: z.string().describe('"" for a root span'),
  traceState: z.string(),
  flags: z.number().int(),
  name: z.string(),
  kind: z.enum(SPAN_KINDS).describe('OTLP SpanKind, lower case without the SPAN_KIND_ prefix'),
  serviceName: z.string(),
  startTimeUnixNano: z.string().describe('decimal nanoseconds'),
  endTimeUnixNano: z.string().describe('decimal nanoseconds'),
  durationMs: z.number(),
  status: z.object({ code: z.enum(STATUS_CODES), message: z.string() }),
  attributes,
  droppedAttributesCount: z.number().int(),
  resource: attributes,
  resourceDroppedAttributesCount: z.number().int(),
  resourceSchemaUrl: z.string(),
  scope: z.object({
    name: z.string(),
    version: z.string(),
    attributes,
    droppedAttributesCount: z.number().int(),
    schemaUrl: z.string(),
  }),
  events: z.array(spanEventSchema),
  droppedEventsCount: z.number().int(),
  links: z.array(spanLinkSchema),
  droppedLinksCount: z.number().int(),
  truncatedFields: z
    .array(
      z.object({
        field: z
          .string()
          .describe(
            'where the cut text is in this span: name, traceState, status.message, attributes.<key>, resource.<key>, resourceSchemaUrl, scope.name, scope.version, scope.schemaUrl, scope.attributes.<key>, events.<i>.name, events.<i>.attributes.<key>, links.<i>.traceId|spanId|traceState, links.<i>.attributes.<key> (<key> as stored; "#key" appended when the key itself was cut)',
          ),
        originalBytes: z.number().int().describe('its UTF-8 size as sent (arrays and kvlists: of the JSON text they are stored as; bytes: of their base64)'),
      }),
    )
    .describe('text the value limit (CANOPY_MAX_ATTRIBUTE_VALUE_BYTES) cut at ingest; the stored text ends in "…[truncated N bytes]". Empty when nothing was cut. Attributes, events and links dropped by the count limits are in the dropped*Count fields'),
  depth: z.number().int().describe('0 for a root, or for a span whose parent is not in the trace'),
  children: z.array(z.string()).describe('span ids of the direct children, by start time'),
});
export type SpanDetail = z.infer<typeof spanDetailSchema>;

export const traceDetailSchema = z.object({
  traceId: z.string(),
  startTimeUnixNano: z.string(),
  endTimeUnixNano: z.string(),
  durationMs: z.number(),
  spanCount: z.number().int(),
  totalSpanCount: z.number().int().describe('spans stored for the trace; more than spanCount only when truncated'),
  services: z.array(z.string()),
  rootSpanIds: z.array(z.string()).describe('spans at depth 0, by start time'),
  truncated: z.boolean().describe(`true when the trace has more than ${MAX_TRACE_SPANS} spans and only the first are returned`),
  spans: z.array(spanDetailSchema).describe('by start time (then depth, then span id); rootSpanIds + children give the tree for a waterfall'),
});
export type TraceDetail = z.infer<typeof traceDetailSchema>;
