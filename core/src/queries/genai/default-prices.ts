/**
 * Built-in list prices, USD per million tokens, as published by the providers when this
 * table was last reviewed. They are a starting point: an organization overrides any
 * entry (or adds models) through `PUT /orgs/:org/prices`. A model name matches an entry
 * exactly or by its longest entry prefix followed by `-`, `:`, `@` or `.`
 * (`gpt-4o-2024-08-06` → `gpt-4o`), after dropping a `vendor/` or `vendor.` prefix.
 * Cache prices left out are billed like input.
 */
export interface PriceEntry {
  model: string;
  inputPerMillion: string;
  outputPerMillion: string;
  cacheReadPerMillion: string | null;
  cacheCreationPerMillion: string | null;
}

/** `p(model, [input, output, cacheRead?, cacheCreation?])` */
const p = (model: string, [input, output, cacheRead = null, cacheCreation = null]: [string, string, (string | null)?, (string | null)?]): PriceEntry => ({
  model,
  inputPerMillion: input,
  outputPerMillion: output,
  cacheReadPerMillion: cacheRead,
  cacheCreationPerMillion: cacheCreation,
});

export const DEFAULT_PRICES: readonly PriceEntry[] = [
  // OpenAI
  p('gpt-5', ['1.25', '10', '0.125']),
  p('gpt-5-mini', ['0.25', '2', '0.025']),
  p('gpt-5-nano', ['0.05', '0.40', '0.005']),
  p('gpt-4.1', ['2', '8', '0.50']),
  p('gpt-4.1-mini', ['0.40', '1.60', '0.10']),
  p('gpt-4.1-nano', ['0.10', '0.40', '0.025']),
  p('gpt-4o', ['2.50', '10', '1.25']),
  p('gpt-4o-mini', ['0.15', '0.60', '0.075']),
  p('gpt-4-turbo', ['10', '30']),
  p('gpt-3.5-turbo', ['0.50', '1.50']),
  p('o1', ['15', '60', '7.50']),
  p('o1-mini', ['1.10', '4.40', '0.55']),
  p('o3', ['2', '8', '0.50']),
  p('o3-mini', ['1.10', '4.40', '0.55']),
  p('o4-mini', ['1.10', '4.40', '0.275']),
  p('text-embedding-3-small', ['0.02', '0']),
  p('text-embedding-3-large', ['0.13', '0']),
  // Anthropic (cache creation = 5-minute cache writes)
  p('claude-opus-4-5', ['5', '25', '0.50', '6.25']),
  p('claude-opus-4-1', ['15', '75', '1.50', '18.75']),
  p('claude-opus-4', ['15', '75', '1.50', '18.75']),
  p('claude-sonnet-4-5', ['3', '15', '0.30', '3.75']),
  p('claude-sonnet-4', ['3', '15', '0.30', '3.75']),
  p('claude-haiku-4-5', ['1', '5', '0.10', '1.25']),
  p('claude-3-7-sonnet', ['3', '15', '0.30', '3.75']),
  p('claude-3-5-sonnet', ['3', '15', '0.30', '3.75']),
  p('claude-3-5-haiku', ['0.80', '4', '0.08', '1']),
  p('claude-3-opus', ['15', '75', '1.50', '18.75']),
  p('claude-3-haiku', ['0.25', '1.25', '0.03', '0.30']),
  // Google (prompts up to 200k tokens)
  p('gemini-2.5-pro', ['1.25', '10', '0.31']),
  p('gemini-2.5-flash', ['0.30', '2.50', '0.075']),
  p('gemini-2.0-flash', ['0.10', '0.40', '0.025']),
  p('gemini-1.5-pro', ['1.25', '5']),
  p('gemini-1.5-flash', ['0.075', '0.30']),
];

/**
 * Which edition of DEFAULT_PRICES this release ships: raise it by one with every change
 * of the list (core/test/queries/price-versions.int.test.ts pins the list's digest to it,
 * so a change without a new revision fails). Price table versions record it; a release
 * adds a version for its list only when the organization's latest version was made with
 * an older one, so during a rolling upgrade the old release never re-adds its list.
 */
export const DEFAULT_PRICES_REVISION = 1;

/** The built-in list a process prices with, and its revision. */
export interface BuiltInPrices {
  revision: number;
  entries: readonly PriceEntry[];
}

export const BUILT_IN_PRICES: BuiltInPrices = { revision: DEFAULT_PRICES_REVISION, entries: DEFAULT_PRICES };
