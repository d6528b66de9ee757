/**
 * Exact money. Prices are USD per million tokens with at most 6 decimals, held as
 * integer micro-USD per million tokens; a cost is tokens × that, an integer number of
 * pico-USD (1e-12 USD). No floating point anywhere between the price table and the
 * decimal string in the response.
 */
export const PRICE_PATTERN = /^\d{1,12}(\.\d{1,6})?$/;

/** "2.5" → 2_500_000n (micro-USD per million tokens). */
export function parsePrice(text: string): bigint {
  if (!PRICE_PATTERN.test(text)) throw new TypeError(`not a price: ${JSON.stringify(text)}`);
  const [whole, frac = ''] = text.split('.');
  return BigInt(whole!) * 1_000_000n + BigInt(frac.padEnd(6, '0'));
}

/** 2_500_000n → "2.50" (at least two decimals, no trailing zeros beyond). */
export function formatPrice(micros: bigint): string {
  return formatFixed(micros, 6);
}

/** pico-USD → USD decimal string, exact: at least two decimals, trailing zeros trimmed. */
export function formatUsd(pico: bigint): string {
  return formatFixed(pico, 12);
}

function formatFixed(value: bigint, scale: number): string {
  const neg = value < 0n;
  const abs = neg ? -value : value;
  const unit = 10n ** BigInt(scale);
  const whole = abs / unit;
  let frac = (abs % unit).toString().padStart(scale, '0').replace(/0+$/, '');
  if (frac.length < 2) frac = frac.padEnd(2, '0');
  return `${neg ? '-' : ''}${whole}.${frac}`;
}

/** Token counts of one group of calls, as ClickHouse sums them (decimal strings or numbers). */
export interface TokenSums {
  uncachedInputTokens: bigint;
  outputTokens: bigint;
  cacheReadTokens: bigint;
  cacheCreationTokens: bigint;
}

export interface ModelPrice {
  /** the price-table entry that matched */
  model: string;
  inputMicros: bigint;
  outputMicros: bigint;
  /** null: billed like input */
  cacheReadMicros: bigint | null;
  cacheCreationMicros: bigint | null;
}

/**
 * Cost in pico-USD. Reasoning tokens are part of the output tokens (OTel), so they are
 * not added again; cache tokens are billed at their own price (input price when none).
 */
export function costPico(t: TokenSums, p: ModelPrice): bigint {
  return (
    t.uncachedInputTokens * p.inputMicros +
    t.outputTokens * p.outputMicros +
    t.cacheReadTokens * (p.cacheReadMicros ?? p.inputMicros) +
    t.cacheCreationTokens * (p.cacheCreationMicros ?? p.inputMicros)
  );
}

/** A ClickHouse UInt64 as JSON gives it (a decimal string) → bigint. */
export const big = (v: string | number | undefined | null): bigint => (v === undefined || v === null ? 0n : BigInt(v));

/** A bigint count as a JSON number when it is exactly representable, else a decimal string. */
export function countJson(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`count ${v} exceeds 2^53`);
  return Number(v);
}
