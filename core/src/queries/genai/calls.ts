import { sql, type Sql, type TenantScope } from '../../clickhouse/sql.js';
import { DAY_MS, toSeconds } from '../params.js';

/**
 * GenAI calls are the rows of `genai_spans` (spans carrying token usage, written by a
 * materialized view at insert). The de-duplication rule is applied when reading:
 *
 *   A span's usage counts unless one of its direct children in the same trace also
 *   carries token usage.
 *
 * A wrapper span (Vercel AI SDK `ai.generateText` around `ai.generateText.doGenerate`,
 * an agent or chain span that repeats the sum of its LLM calls) therefore is not counted
 * again; a leaf LLM call always is. It cannot be decided at insert time, since a child
 * usually arrives in another batch than its parent. The parent lookup is confined to the
 * tenant and a window one day wider than the range on each side, so a call near a range
 * edge still finds its wrapper, and `genai_spans` is small (only GenAI spans), so the
 * anti-join stays cheap. Known limit: a wrapper whose token-carrying descendants sit
 * below a token-less intermediate span is counted too.
 */
export type CallRange = { by: 'time'; from: Date; to: Date } | { by: 'day'; fromDay: string; toDay: string };

function rangeCondition(r: CallRange, widenDays: number): Sql {
  if (r.by === 'time') {
    const from = toSeconds(new Date(r.from.getTime() - widenDays * DAY_MS));
    const to = Math.ceil((r.to.getTime() + widenDays * DAY_MS) / 1000);
    return sql`timestamp >= toDateTime(${from}) AND timestamp < toDateTime(${to})`;
  }
  return widenDays
    ? sql`day >= toDate(${r.fromDay}) - ${widenDays} AND day <= toDate(${r.toDay}) + ${widenDays}`
    : sql`day >= toDate(${r.fromDay}) AND day <= toDate(${r.toDay})`;
}

/**
 * A subquery over the GenAI calls of the range with a `counted` flag (1 unless a child
 * call carries tokens). `extra` narrows the rows (service, model, ...).
 */
export function genaiCalls(scope: TenantScope, range: CallRange, extra: readonly Sql[] = []): Sql {
  const where = sql.join([sql.tenant(scope), rangeCondition(range, 0), ...extra], ' AND ');
  // span_key = cityHash64(trace_id, span_id), parent_key the same of the parent (0 for a
  // root): a set of UInt64 is ~3× faster than one of string pairs. A false match needs a
  // 64-bit collision within one org's calls of the range.
  const parents = sql`SELECT parent_key FROM genai_spans
    WHERE ${sql.tenant(scope)} AND ${rangeCondition(range, 1)} AND parent_key != 0`;
  return sql`(SELECT workspace_id, day, timestamp, trace_id, span_id, service_name, name, status_code, duration_ns, size_bytes,
      model, provider, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens, total_tokens,
      uncached_input_tokens,
      span_key NOT IN (${parents}) AS counted
    FROM genai_spans WHERE ${where})`;
}

/** Sums over counted calls, named as `TokenRow` expects. */
export const TOKEN_SUMS = sql`countIf(counted) AS calls,
  sumIf(input_tokens, counted) AS input_tokens_sum,
  sumIf(output_tokens, counted) AS output_tokens_sum,
  sumIf(cache_read_tokens, counted) AS cache_read_tokens_sum,
  sumIf(cache_creation_tokens, counted) AS cache_creation_tokens_sum,
  sumIf(reasoning_tokens, counted) AS reasoning_tokens_sum,
  sumIf(total_tokens, counted) AS total_tokens_sum,
  sumIf(uncached_input_tokens, counted) AS uncached_input_tokens_sum`;

export interface TokenRow {
  calls: string;
  input_tokens_sum: string;
  output_tokens_sum: string;
  cache_read_tokens_sum: string;
  cache_creation_tokens_sum: string;
  reasoning_tokens_sum: string;
  total_tokens_sum: string;
  uncached_input_tokens_sum: string;
}
