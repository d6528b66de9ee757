import { z } from 'zod';
import { MAX_QUERY_RANGE_DAYS, checkRange, repeatable, timeRangeShape } from '../params.js';
import { BUCKET_NAMES, BUCKETS, MAX_POINTS, autoBucket, type BucketName } from './buckets.js';

export const SPAN_METRICS = ['count', 'errors', 'errorRate', 'p50Ms', 'p90Ms', 'p95Ms', 'p99Ms'] as const;
export const TOKEN_METRICS = ['calls', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheCreationTokens', 'reasoningTokens', 'costUsd'] as const;
export const METRICS = [...SPAN_METRICS, ...TOKEN_METRICS] as const;
export type Metric = (typeof METRICS)[number];
export type SpanMetric = (typeof SPAN_METRICS)[number];
export type TokenMetric = (typeof TOKEN_METRICS)[number];

export const TIMESERIES_GROUPS = ['none', 'service', 'name', 'model'] as const;
export type TimeseriesGroup = (typeof TIMESERIES_GROUPS)[number];

export const DEFAULT_SERIES_LIMIT = 10;
export const MAX_SERIES_LIMIT = 50;

const metricList = repeatable
  .transform((vs) => vs.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))
  .pipe(z.array(z.enum(METRICS)).min(1));

export interface TimeseriesInput {
  from: Date;
  to: Date;
  bucket: BucketName;
  bucketSeconds: number;
  groupBy: TimeseriesGroup;
  metrics: Metric[];
  services: string[];
  names: string[];
  limit: number;
}

export const TIMESERIES_DESCRIPTION = [
  `Time series over [from, to) (at most ${MAX_QUERY_RANGE_DAYS} days) in buckets of bucket (${BUCKET_NAMES.join(', ')}; by default ≤1h → 1m, ≤6h → 5m, ≤1d → 15m, ≤7d → 1h, else 1d; at most ${MAX_POINTS} buckets).`,
  'Span metrics: count, errors, errorRate (errors/count), p50Ms, p90Ms, p95Ms, p99Ms (approximate quantiles of span duration).',
  'GenAI metrics (calls carrying token usage, wrapper spans not counted twice): calls, inputTokens, outputTokens, cacheReadTokens, cacheCreationTokens, reasoningTokens, costUsd.',
  `groupBy=model reads GenAI calls only. The ${DEFAULT_SERIES_LIMIT} (limit, at most ${MAX_SERIES_LIMIT}) largest groups are returned (totalGroups says how many there are, truncated whether some were left out); every series has a point per bucket.`,
].join(' ');

export const timeseriesParamsSchema = z
  .object({
    ...timeRangeShape(MAX_QUERY_RANGE_DAYS),
    metric: metricList.optional().describe(`comma-separated metrics; default ${SPAN_METRICS.join(',')}`),
    groupBy: z.enum(TIMESERIES_GROUPS).default('none'),
    bucket: z.enum(BUCKET_NAMES as [BucketName, ...BucketName[]]).optional().describe('bucket size; automatic from the range when absent'),
    service: repeatable.optional().describe('only spans of these services'),
    name: repeatable.optional().describe('only spans with these names'),
    limit: z.coerce.number().int().min(1).max(MAX_SERIES_LIMIT).default(DEFAULT_SERIES_LIMIT).describe('most series (groups) returned'),
  })
  .strict();
type TimeseriesParams = z.output<typeof timeseriesParamsSchema>;

function toTimeseriesInput(q: TimeseriesParams, ctx: z.RefinementCtx): TimeseriesInput {
  checkRange(q, MAX_QUERY_RANGE_DAYS, ctx);
  const bucket = q.bucket ?? autoBucket(q.to.getTime() - q.from.getTime());
  const bucketSeconds = BUCKETS[bucket];
  const points = Math.ceil((q.to.getTime() - q.from.getTime()) / 1000 / bucketSeconds) + 1;
  if (points > MAX_POINTS) ctx.addIssue({ code: 'custom', path: ['bucket'], message: `too small for the range: at most ${MAX_POINTS} buckets` });
  return {
    from: q.from,
    to: q.to,
    bucket,
    bucketSeconds,
    groupBy: q.groupBy,
    metrics: q.metric ?? [...SPAN_METRICS],
    services: q.service ?? [],
    names: q.name ?? [],
    limit: q.limit,
  };
}

/** The cross-field step alone, over parsed parameters. */
export const timeseriesInputSchema = z.custom<TimeseriesParams>().transform(toTimeseriesInput);
export const timeseriesQuerySchema = timeseriesParamsSchema.transform(toTimeseriesInput);

const pointSchema = z
  .object({
    time: z.string().describe('bucket start, ISO 8601 UTC'),
    count: z.number().int(),
    errors: z.number().int(),
    errorRate: z.number().nullable(),
    p50Ms: z.number().nullable(),
    p90Ms: z.number().nullable(),
    p95Ms: z.number().nullable(),
    p99Ms: z.number().nullable(),
    calls: z.number().int(),
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    cacheReadTokens: z.number().int(),
    cacheCreationTokens: z.number().int(),
    reasoningTokens: z.number().int(),
    costUsd: z.string(),
  })
  .partial()
  .required({ time: true })
  .describe('one bucket; carries the requested metrics (null where a bucket has no spans)');

export const timeseriesResultSchema = z.object({
  from: z.string(),
  to: z.string(),
  bucket: z.enum(BUCKET_NAMES as [BucketName, ...BucketName[]]),
  bucketSeconds: z.number().int(),
  groupBy: z.enum(TIMESERIES_GROUPS),
  metrics: z.array(z.enum(METRICS)),
  series: z.array(z.object({ group: z.string().describe('"" for groupBy=none'), points: z.array(pointSchema) })),
  totalGroups: z.number().int().describe('groups with data in the range (1 for groupBy=none); series holds the limit largest of them'),
  truncated: z.boolean().describe('true when totalGroups is above limit: the smaller groups are left out of series'),
});
export type TimeseriesResult = z.infer<typeof timeseriesResultSchema>;
export type TimeseriesPoint = TimeseriesResult['series'][number]['points'][number];
