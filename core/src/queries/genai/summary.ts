import { z } from 'zod';
import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type TenantScope } from '../../clickhouse/sql.js';
import { MAX_QUERY_RANGE_DAYS, checkRange, repeatable, timeRangeShape } from '../params.js';
import { genaiCalls, TOKEN_SUMS, type TokenRow } from './calls.js';
import type { PriceBook } from './prices.js';
import { addTokenRow, emptyTotals, tokenMeasures, tokenMeasuresSchema, type TokenTotals } from './totals.js';

export const GENAI_GROUPS = ['model', 'provider', 'service'] as const;
export type GenAiGroup = (typeof GENAI_GROUPS)[number];
const COLUMN: Record<GenAiGroup, string> = { model: 'model', provider: 'provider', service: 'service_name' };

/** `groupBy=model,provider` (comma-separated or repeated); `none` for totals only. */
const groupList = repeatable
  .transform((vs) => vs.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))
  .pipe(z.array(z.enum([...GENAI_GROUPS, 'none'])))
  .transform((gs) => GENAI_GROUPS.filter((g) => gs.includes(g)));

export const genaiParamsSchema = z
  .object({
    ...timeRangeShape(MAX_QUERY_RANGE_DAYS),
    groupBy: groupList.optional().describe('model, provider, service (comma-separated), or none; default model'),
    service: repeatable.optional().describe('only calls from these services'),
    model: repeatable.optional().describe('only calls of these models'),
  })
  .strict();
type GenAiParams = z.output<typeof genaiParamsSchema>;

export interface GenAiQuery {
  from: Date;
  to: Date;
  groupBy: GenAiGroup[];
  services: string[];
  models: string[];
}

function toGenAiQuery(q: GenAiParams, ctx: z.RefinementCtx): GenAiQuery {
  checkRange(q, MAX_QUERY_RANGE_DAYS, ctx);
  return { from: q.from, to: q.to, groupBy: q.groupBy ?? ['model'], services: q.service ?? [], models: q.model ?? [] };
}

/** The cross-field step alone, over parsed parameters. */
export const genaiInputSchema = z.custom<GenAiParams>().transform(toGenAiQuery);
export const genaiQuerySchema = genaiParamsSchema.transform(toGenAiQuery);

export const genaiSummarySchema = z.object({
  groupBy: z.array(z.enum(GENAI_GROUPS)),
  rows: z.array(
    tokenMeasuresSchema.extend({
      model: z.string().optional(),
      provider: z.string().optional(),
      service: z.string().optional(),
    }),
  ),
  totals: tokenMeasuresSchema,
  wrapperSpansExcluded: z.number().int().describe('spans whose usage repeats a child call and is not counted'),
});
export type GenAiSummary = z.infer<typeof genaiSummarySchema>;

type Row = TokenRow & { model: string; provider: string; service_name: string; wrappers: string };

/**
 * Token usage and cost of a workspace's GenAI calls in [from, to) by event time, grouped
 * by model, provider and/or service, largest cost first. Cost is priced per model, so
 * the query always groups by model and folds afterwards.
 */
export async function genaiSummary(deps: { clickhouse: ClickHouse; prices: PriceBook }, scope: TenantScope, input: GenAiQuery): Promise<GenAiSummary> {
  const { clickhouse, prices } = deps;
  const extra = [];
  if (input.services.length) extra.push(sql`service_name IN (${sql.join(input.services.map((s) => sql`${s}`))})`);
  if (input.models.length) extra.push(sql`model IN (${sql.join(input.models.map((m) => sql`${m}`))})`);
  const rows = await clickhouse.query<Row>(
    scope,
    sql`SELECT model, ${input.groupBy.includes('provider') ? sql`provider` : sql`''`} AS provider,
          ${input.groupBy.includes('service') ? sql`service_name` : sql`''`} AS service_name,
          ${TOKEN_SUMS}, countIf(NOT counted) AS wrappers
        FROM ${genaiCalls(scope, { by: 'time', from: input.from, to: input.to }, extra)}
        GROUP BY model, provider, service_name`,
  );
  const groups = new Map<string, { keys: Record<string, string>; totals: TokenTotals }>();
  const totals = emptyTotals();
  let wrappers = 0;
  for (const r of rows) {
    const keys: Record<string, string> = {};
    if (input.groupBy.includes('model')) keys.model = r.model;
    if (input.groupBy.includes('provider')) keys.provider = r.provider;
    if (input.groupBy.includes('service')) keys.service = r.service_name;
    const id = JSON.stringify(keys);
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { keys, totals: emptyTotals() }));
    addTokenRow(g.totals, r, prices);
    addTokenRow(totals, r, prices);
    wrappers += Number(r.wrappers);
  }
  const out = [...groups.values()]
    .filter((g) => g.totals.calls > 0n)
    .sort((a, b) => (b.totals.costPico > a.totals.costPico ? 1 : b.totals.costPico < a.totals.costPico ? -1 : Number(b.totals.totalTokens - a.totals.totalTokens)))
    .map((g) => ({ ...g.keys, ...tokenMeasures(g.totals) }));
  return { groupBy: input.groupBy, rows: out, totals: tokenMeasures(totals), wrapperSpansExcluded: wrappers };
}
