import type { PriceEntry } from '../api/types';

/**
 * What a GenAI span carries: model, provider, token counts and (with the organization's
 * price list) its cost. The attribute names and the order in which they are tried follow
 * core/src/queries/genai/conventions.ts (current OTel GenAI names first, then older OTel,
 * OpenInference and the Vercel AI SDK), and the cost follows core's money rules: exact
 * integers, USD per million tokens, cache tokens at their own price or the input price.
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
  reasoningTokens: ['gen_ai.usage.reasoning.output_tokens', 'gen_ai.usage.output_tokens.reasoning', 'llm.token_count.completion_details.reasoning', 'ai.usage.reasoningTokens'],
  totalTokens: ['gen_ai.usage.total_tokens', 'llm.token_count.total', 'ai.usage.totalTokens'],
  model: ['gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name', 'ai.response.model', 'ai.model.id'],
  provider: ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system', 'ai.model.provider'],
} as const;

export interface GenAiInfo {
  model: string;
  provider: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

type Attrs = Readonly<Record<string, unknown>>;

function tokens(attrs: Attrs, keys: readonly string[]): number | undefined {
  for (const k of keys) {
    if (!(k in attrs)) continue;
    const v = attrs[k];
    const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
    return Number.isFinite(n) ? Math.min(Math.max(0, Math.floor(n)), 1e15) : 0;
  }
  return undefined;
}

function text(attrs: Attrs, keys: readonly string[]): string {
  for (const k of keys) {
    const v = attrs[k];
    if (typeof v === 'string' && v !== '') return v;
  }
  return '';
}

/** The GenAI call a span describes, or null when it carries no token usage. */
export function genaiInfo(attrs: Attrs): GenAiInfo | null {
  const input = tokens(attrs, GENAI_KEYS.inputTokens);
  const output = tokens(attrs, GENAI_KEYS.outputTokens);
  const total = tokens(attrs, GENAI_KEYS.totalTokens);
  if (input === undefined && output === undefined && total === undefined) return null;
  return {
    model: text(attrs, GENAI_KEYS.model),
    provider: text(attrs, GENAI_KEYS.provider),
    inputTokens: input ?? 0,
    outputTokens: output ?? 0,
    cacheReadTokens: tokens(attrs, GENAI_KEYS.cacheReadTokens) ?? 0,
    cacheCreationTokens: tokens(attrs, GENAI_KEYS.cacheCreationTokens) ?? 0,
    reasoningTokens: tokens(attrs, GENAI_KEYS.reasoningTokens) ?? 0,
    totalTokens: total ?? (input ?? 0) + (output ?? 0),
  };
}

const PRICE_PATTERN = /^\d{1,12}(\.\d{1,6})?$/;

/** "2.5" → 2_500_000n micro-USD per million tokens. */
export function parsePrice(textValue: string): bigint | null {
  if (!PRICE_PATTERN.test(textValue)) return null;
  const [whole, frac = ''] = textValue.split('.');
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
}

/** pico-USD → an exact USD decimal string with at least two decimals. */
export function picoToUsd(pico: bigint): string {
  const unit = 10n ** 12n;
  let frac = (pico % unit).toString().padStart(12, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${pico / unit}.${frac}`;
}

const BOUNDARY = new Set(['-', ':', '@', '.', '_']);

/** Names a model may be priced under: as reported, without a `vendor/` path, without a `vendor.` prefix. */
function candidates(model: string): string[] {
  const m = model.trim().toLowerCase();
  const out = [m];
  const slash = m.lastIndexOf('/');
  if (slash >= 0) out.push(m.slice(slash + 1));
  const vendor = /^[a-z]+(?:\.[a-z]+)*\.([a-z].*)$/.exec(out[out.length - 1]!);
  if (vendor) out.push(vendor[1]!);
  return out;
}

/** The price entry for a model: exact name first, then the longest prefix ending at a boundary (gpt-4o → gpt-4o-2024-08-06). */
export function findPrice(prices: readonly PriceEntry[], model: string): PriceEntry | null {
  let best: { score: number; entry: PriceEntry } | null = null;
  for (const name of candidates(model)) {
    for (const e of prices) {
      const key = e.model.toLowerCase();
      let score = -1;
      if (name === key) score = 2_000_000;
      else if (name.startsWith(key) && BOUNDARY.has(name[key.length]!)) score = key.length;
      if (score >= 0 && (!best || score > best.score)) best = { score, entry: e };
    }
  }
  return best?.entry ?? null;
}

/** The call's cost in USD (exact decimal string), or null when the model has no price. */
export function genaiCost(info: GenAiInfo, prices: readonly PriceEntry[]): string | null {
  const entry = info.model ? findPrice(prices, info.model) : null;
  if (!entry) return null;
  const input = parsePrice(entry.inputPerMillion);
  const output = parsePrice(entry.outputPerMillion);
  if (input === null || output === null) return null;
  const cacheRead = entry.cacheReadPerMillion === null ? input : (parsePrice(entry.cacheReadPerMillion) ?? input);
  const cacheCreation = entry.cacheCreationPerMillion === null ? input : (parsePrice(entry.cacheCreationPerMillion) ?? input);
  // Current OTel counts cache tokens inside input; input below them means the instrumentation
  // reported input without them (as core's genai_spans view decides), so all of it is uncached.
  const cached = BigInt(info.cacheReadTokens) + BigInt(info.cacheCreationTokens);
  const inputCount = BigInt(info.inputTokens);
  const uncached = inputCount >= cached ? inputCount - cached : inputCount;
  // micro-USD per million tokens × tokens = pico-USD
  const pico = uncached * input + BigInt(info.outputTokens) * output + BigInt(info.cacheReadTokens) * cacheRead + BigInt(info.cacheCreationTokens) * cacheCreation;
  return picoToUsd(pico);
}
