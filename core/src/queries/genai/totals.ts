import { z } from 'zod';
import { big, costPico, countJson, formatUsd } from './money.js';
import type { TokenRow } from './calls.js';
import { countsOf, type TokenCounts } from './cells.js';
import type { PriceBook } from './prices.js';

/** Running sums of counted GenAI calls and their cost, exact. */
export interface TokenTotals {
  calls: bigint;
  inputTokens: bigint;
  outputTokens: bigint;
  cacheReadTokens: bigint;
  cacheCreationTokens: bigint;
  reasoningTokens: bigint;
  totalTokens: bigint;
  costPico: bigint;
  /** calls whose model has no price (their cost counts as 0) */
  unpricedCalls: bigint;
}

export const emptyTotals = (): TokenTotals => ({
  calls: 0n,
  inputTokens: 0n,
  outputTokens: 0n,
  cacheReadTokens: 0n,
  cacheCreationTokens: 0n,
  reasoningTokens: 0n,
  totalTokens: 0n,
  costPico: 0n,
  unpricedCalls: 0n,
});

/** Adds one cell's counts and their cost, however it was found (stored, or priced with a book). */
export function addPricedCounts(into: TokenTotals, cell: { counts: TokenCounts; totalTokens: bigint }, cost: { costPico: bigint; priced: boolean }): void {
  const c = cell.counts;
  into.calls += c.calls;
  into.inputTokens += c.inputTokens;
  into.outputTokens += c.outputTokens;
  into.cacheReadTokens += c.cacheReadTokens;
  into.cacheCreationTokens += c.cacheCreationTokens;
  into.reasoningTokens += c.reasoningTokens;
  into.totalTokens += cell.totalTokens;
  into.costPico += cost.costPico;
  if (!cost.priced) into.unpricedCalls += c.calls;
}

/** Adds one ClickHouse row of TOKEN_SUMS (for one model), priced with the book. */
export function addTokenRow(into: TokenTotals, row: TokenRow & { model: string }, prices: PriceBook): void {
  const counts = countsOf(row);
  const price = prices.lookup(row.model);
  addPricedCounts(into, { counts, totalTokens: big(row.total_tokens_sum) }, { costPico: price ? costPico(counts, price) : 0n, priced: price !== null });
}

export function addTotals(into: TokenTotals, other: TokenTotals): void {
  for (const k of Object.keys(into) as Array<keyof TokenTotals>) into[k] += other[k];
}

export const tokenMeasuresSchema = z.object({
  calls: z.number().int().describe('GenAI calls counted (wrapper spans excluded)'),
  inputTokens: z.number().int().describe('input tokens, cache read/creation included'),
  outputTokens: z.number().int().describe('output tokens, reasoning included'),
  cacheReadTokens: z.number().int(),
  cacheCreationTokens: z.number().int(),
  reasoningTokens: z.number().int(),
  totalTokens: z.number().int(),
  costUsd: z.string().describe('exact decimal USD'),
  unpricedCalls: z.number().int().describe('calls of models without a price; their cost is not in costUsd'),
});
export type TokenMeasures = z.infer<typeof tokenMeasuresSchema>;

export function tokenMeasures(t: TokenTotals): TokenMeasures {
  return {
    calls: countJson(t.calls),
    inputTokens: countJson(t.inputTokens),
    outputTokens: countJson(t.outputTokens),
    cacheReadTokens: countJson(t.cacheReadTokens),
    cacheCreationTokens: countJson(t.cacheCreationTokens),
    reasoningTokens: countJson(t.reasoningTokens),
    totalTokens: countJson(t.totalTokens),
    costUsd: formatUsd(t.costPico),
    unpricedCalls: countJson(t.unpricedCalls),
  };
}
