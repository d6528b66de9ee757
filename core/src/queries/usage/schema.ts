import { z } from 'zod';
import { MAX_USAGE_RANGE_DAYS, DAY_MS, instantSchema, repeatable } from '../params.js';
import { tokenMeasuresSchema } from '../genai/totals.js';

export const USAGE_GROUPS = ['workspace', 'day', 'service', 'model'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageInput {
  /** first UTC day, YYYY-MM-DD */
  fromDay: string;
  /** last UTC day included, YYYY-MM-DD */
  toDay: string;
  groupBy: UsageGroup[];
  format: 'json' | 'csv';
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

export const USAGE_DESCRIPTION = [
  'Usage of every workspace of the organization by the UTC day the collector accepted the spans.',
  `from/to (ISO or epoch ms): the days from from's day up to the day before to (to is exclusive; default: this month so far); at most ${MAX_USAGE_RANGE_DAYS} days.`,
  'groupBy: any of workspace, day, service, model (comma-separated; default workspace,day).',
  'Spans and bytes are not attributable to a model except for the GenAI spans themselves: with groupBy=model the other spans are on rows with model "".',
  'Token measures count GenAI calls once (a wrapper span repeating its child call is not counted); costUsd is exact, priced per model with the org price list.',
  'Cost of a closed UTC day is stored once the pricing job has priced it, with the price table version current then (only an explicit re-price changes it); a day not priced yet (today) is computed with the current version.',
  'Each row and the totals list the priceVersions their cost came from, and provisional: true when any of it is not stored yet (an open day, a day not priced yet, or spans that arrived after their day was priced and are not caught up yet).',
  'format=csv: RFC 4180, UTF-8, CRLF, a header row of the snake_case names, cells a spreadsheet would read as formulas prefixed with \'.',
].join(' ');

export const usageParamsSchema = z
  .object({
    from: instantSchema.optional().describe('first day (its UTC day); default: the first of this month'),
    to: instantSchema.optional().describe('exclusive end; default: now'),
    groupBy: repeatable
      .transform((vs) => vs.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))
      .pipe(z.array(z.enum([...USAGE_GROUPS, 'none'])))
      .optional()
      .describe('workspace, day, service, model (comma-separated), or none for totals only'),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .strict();
type UsageParams = z.output<typeof usageParamsSchema>;

function toUsageInput(q: UsageParams, ctx: z.RefinementCtx): UsageInput {
  const now = new Date();
  const to = q.to ?? now;
  const from = q.from ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const fromDay = day(from);
  const toDay = day(new Date(to.getTime() - 1));
  if (toDay < fromDay) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
  else if ((Date.parse(toDay) - Date.parse(fromDay)) / DAY_MS + 1 > MAX_USAGE_RANGE_DAYS) {
    ctx.addIssue({ code: 'custom', path: ['to'], message: `the range may cover at most ${MAX_USAGE_RANGE_DAYS} days` });
  }
  const groups = q.groupBy ?? ['workspace', 'day'];
  return { fromDay, toDay, groupBy: USAGE_GROUPS.filter((g) => groups.includes(g)), format: q.format };
}

/** The cross-field step alone, over parsed parameters. */
export const usageInputSchema = z.custom<UsageParams>().transform(toUsageInput);
export const usageQuerySchema = usageParamsSchema.transform(toUsageInput);

const measures = {
  spans: z.number().int().describe('spans accepted'),
  bytes: z.number().int().describe('bytes billed (stored row size)'),
  ...tokenMeasuresSchema.omit({ unpricedCalls: true, totalTokens: true }).shape,
  priceVersions: z.array(z.number().int()).describe('the price table versions costUsd was computed with (empty without GenAI calls)'),
  provisional: z.boolean().describe('true when some of this row is not final: an open day, or cost not stored yet'),
};

export const usageRowSchema = z.object({
  workspaceId: z.string().optional(),
  workspaceSlug: z.string().optional(),
  day: z.string().optional().describe('YYYY-MM-DD (UTC)'),
  service: z.string().optional(),
  model: z.string().optional(),
  ...measures,
});
export type UsageRow = z.infer<typeof usageRowSchema>;

export const usageReportSchema = z.object({
  from: z.string().describe('first day, YYYY-MM-DD'),
  to: z.string().describe('last day included, YYYY-MM-DD'),
  groupBy: z.array(z.enum(USAGE_GROUPS)),
  rows: z.array(usageRowSchema),
  totals: z.object(measures),
  unpricedModels: z.array(z.string()).describe('models with token usage but no price; their cost is not included'),
  currentPriceVersion: z.number().int().describe('the price table version days not priced yet are computed with'),
  quota: z.object({
    period: z.string().describe('the calendar month (UTC) the quota applies to, YYYY-MM'),
    monthlySpanQuota: z.number().int().nullable().describe('null: unlimited'),
    used: z.number().int(),
    remaining: z.number().int().nullable(),
  }),
});
export type UsageReport = z.infer<typeof usageReportSchema>;
