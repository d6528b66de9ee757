import { sql, type Sql } from '../../clickhouse/sql.js';
import { ValueType } from '../../otlp/types.js';

/**
 * Where GenAI usage lives on a span, by convention. For each measure the first key the
 * span carries wins, so a span with both the current OpenTelemetry names and an older or
 * vendor name is read once, by the current name. Order: current OTel GenAI semconv,
 * older OTel names, OpenInference, Vercel AI SDK.
 *
 * Token semantics follow current OTel: cache read/creation tokens are part of the input
 * tokens, reasoning tokens part of the output tokens.
 *
 * These lists feed the `genai_spans_mv` view (ClickHouse migration 2). A view is fixed
 * when created: changing a list needs a new migration that recreates the view.
 */
export const GENAI_KEYS = {
  inputTokens: ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt', 'ai.usage.inputTokens', 'ai.usage.promptTokens'],
  outputTokens: ['gen_ai.usage.output_tokens', 'gen_ai.usage.completion_tokens', 'llm.token_count.completion', 'ai.usage.outputTokens', 'ai.usage.completionTokens'],
  cacheReadTokens: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'gen_ai.usage.input_tokens.cached',
    'llm.token_count.prompt_details.cache_read',
    'ai.usage.cachedInputTokens',
  ],
  cacheCreationTokens: [
    'gen_ai.usage.cache_creation.input_tokens',
    'gen_ai.usage.cache_creation_input_tokens',
    'gen_ai.usage.input_tokens.cache_write',
    'llm.token_count.prompt_details.cache_write',
  ],
  reasoningTokens: [
    'gen_ai.usage.reasoning.output_tokens',
    'gen_ai.usage.output_tokens.reasoning',
    'llm.token_count.completion_details.reasoning',
    'ai.usage.reasoningTokens',
  ],
  totalTokens: ['gen_ai.usage.total_tokens', 'llm.token_count.total', 'ai.usage.totalTokens'],
  model: ['gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name', 'ai.response.model', 'ai.model.id'],
  provider: ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider'],
} as const;

/** A span is a GenAI call (a row of `genai_spans`) when it carries any of these. */
export const TOKEN_KEYS: readonly string[] = [...GENAI_KEYS.inputTokens, ...GENAI_KEYS.outputTokens, ...GENAI_KEYS.totalTokens];

/** Largest token count read from one attribute; more is treated as this (a guard against garbage). */
const MAX_TOKENS = 1e15;

/** A token count from a span attribute: int/double as stored, a numeric string parsed, clamped to [0, 1e15]. */
function tokenValue(key: string): Sql {
  const i = sql`indexOf(attr_keys, ${key})`;
  const v = sql`if(attr_types[${i}] = ${ValueType.string}, toFloat64OrZero(attr_values[${i}]), attr_numbers[${i}])`;
  // 18.16's least/greatest refuse mixed Float64/UInt64 arguments, hence the explicit floats.
  return sql`toUInt64(least(greatest(${v}, toFloat64(0)), toFloat64(${MAX_TOKENS})))`;
}

/** The first present key's token count, else `fallback`. */
export function tokenExpression(keys: readonly string[], fallback: Sql = sql`toUInt64(0)`): Sql {
  const branches = keys.map((k) => sql`has(attr_keys, ${k}), ${tokenValue(k)}`);
  return sql`multiIf(${sql.join(branches)}, ${fallback})`;
}

/** The first non-empty string among `keys`, else ''. */
export function textExpression(keys: readonly string[]): Sql {
  const branches = keys.map((k) => sql`attr_values[indexOf(attr_keys, ${k})] != '', attr_values[indexOf(attr_keys, ${k})]`);
  return sql`multiIf(${sql.join(branches)}, '')`;
}
