import { z } from 'zod';
import type { Queryable } from '../../tenancy/db.js';
import { DEFAULT_PRICES, type PriceEntry } from './default-prices.js';
import { formatPrice, parsePrice, PRICE_PATTERN, type ModelPrice } from './money.js';

export type PriceSource = 'default' | 'org';

const priceText = z.string().regex(PRICE_PATTERN, 'a decimal string of USD per million tokens with at most 6 decimals, e.g. "2.50"');

export const priceEntrySchema = z.object({
  model: z.string().trim().min(1).max(200).describe('model name as spans report it; also matches dated variants (gpt-4o → gpt-4o-2024-08-06)'),
  inputPerMillion: priceText,
  outputPerMillion: priceText,
  cacheReadPerMillion: priceText.nullable().default(null).describe('null: billed like input'),
  cacheCreationPerMillion: priceText.nullable().default(null).describe('null: billed like input'),
});

export const putPricesSchema = z.object({
  prices: z
    .array(priceEntrySchema)
    .max(1000)
    .refine((ps) => new Set(ps.map((x) => x.model.toLowerCase())).size === ps.length, 'each model at most once'),
  note: z.string().trim().max(500).optional().describe('why the prices change; kept with the new price table version'),
});
export type PutPricesInput = z.input<typeof putPricesSchema>;

export const sourcedPriceEntrySchema = priceEntrySchema.extend({ source: z.enum(['default', 'org']) });
/** An entry of an effective price list: the organization's own (`org`) or built in (`default`). */
export type SourcedPriceEntry = z.infer<typeof sourcedPriceEntrySchema>;

export const priceListSchema = z.object({
  version: z.number().int().describe('the price table version these prices are; costs name the version they were computed with'),
  createdAt: z.string().describe('when this version was created (ISO 8601)'),
  note: z.string().nullable(),
  currency: z.literal('USD'),
  unit: z.literal('per 1M tokens'),
  prices: z.array(sourcedPriceEntrySchema),
});
export type PriceList = z.infer<typeof priceListSchema>;

interface PriceRow {
  model: string;
  input_per_mtok: string;
  output_per_mtok: string;
  cache_read_per_mtok: string | null;
  cache_creation_per_mtok: string | null;
}

/** NUMERIC(18,6) as Postgres prints it ("2.500000") → the canonical price text ("2.50"). */
const canon = (v: string): string => formatPrice(parsePrice(v));

const canonEntry = (e: PriceEntry): PriceEntry => ({
  model: e.model,
  inputPerMillion: canon(e.inputPerMillion),
  outputPerMillion: canon(e.outputPerMillion),
  cacheReadPerMillion: e.cacheReadPerMillion === null ? null : canon(e.cacheReadPerMillion),
  cacheCreationPerMillion: e.cacheCreationPerMillion === null ? null : canon(e.cacheCreationPerMillion),
});

const fromRow = (r: PriceRow): PriceEntry => ({
  model: r.model,
  inputPerMillion: canon(r.input_per_mtok),
  outputPerMillion: canon(r.output_per_mtok),
  cacheReadPerMillion: r.cache_read_per_mtok === null ? null : canon(r.cache_read_per_mtok),
  cacheCreationPerMillion: r.cache_creation_per_mtok === null ? null : canon(r.cache_creation_per_mtok),
});

/** The organization's own price entries (overrides and additions). */
export async function listOrgPrices(db: Queryable, orgId: string): Promise<PriceEntry[]> {
  const { rows } = await db.query<PriceRow>(
    `SELECT model, input_per_mtok::text, output_per_mtok::text, cache_read_per_mtok::text, cache_creation_per_mtok::text
       FROM model_prices WHERE org_id = $1 ORDER BY model`,
    [orgId],
  );
  return rows.map(fromRow);
}

/** Every price that applies given the organization's own entries: those, then the built-in ones they do not override, by model. */
export function effectivePrices(own: readonly PriceEntry[], defaults: readonly PriceEntry[] = DEFAULT_PRICES): SourcedPriceEntry[] {
  const ownModels = new Set(own.map((e) => e.model.toLowerCase()));
  return [
    ...own.map((e) => ({ ...canonEntry(e), source: 'org' as const })),
    ...defaults.filter((e) => !ownModels.has(e.model.toLowerCase())).map((e) => ({ ...canonEntry(e), source: 'default' as const })),
  ].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
}

const toModelPrice = (e: PriceEntry): ModelPrice => ({
  model: e.model,
  inputMicros: parsePrice(e.inputPerMillion),
  outputMicros: parsePrice(e.outputPerMillion),
  cacheReadMicros: e.cacheReadPerMillion === null ? null : parsePrice(e.cacheReadPerMillion),
  cacheCreationMicros: e.cacheCreationPerMillion === null ? null : parsePrice(e.cacheCreationPerMillion),
});

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

const BOUNDARY = new Set(['-', ':', '@', '.', '_']);

/** Resolves model names to prices; built once per request from the org's entries and the defaults. */
export interface PriceBook {
  lookup(model: string): ModelPrice | null;
}

/**
 * Exact match beats prefix match, a longer prefix beats a shorter one, and on a tie the
 * organization's entry beats the built-in one.
 */
export function createPriceBook(orgEntries: readonly PriceEntry[], defaults: readonly PriceEntry[] = DEFAULT_PRICES): PriceBook {
  const entries = [
    ...orgEntries.map((e) => ({ key: e.model.toLowerCase(), rank: 1, price: toModelPrice(e) })),
    ...defaults.map((e) => ({ key: e.model.toLowerCase(), rank: 0, price: toModelPrice(e) })),
  ];
  const cache = new Map<string, ModelPrice | null>();
  return {
    lookup(model) {
      if (cache.has(model)) return cache.get(model)!;
      let best: { score: number; price: ModelPrice } | null = null;
      for (const name of candidates(model)) {
        for (const e of entries) {
          let score = -1;
          if (name === e.key) score = 2_000_000 + e.rank;
          else if (name.startsWith(e.key) && BOUNDARY.has(name[e.key.length]!)) score = e.key.length * 2 + e.rank;
          if (score >= 0 && (!best || score > best.score)) best = { score, price: e.price };
        }
      }
      const found = best?.price ?? null;
      cache.set(model, found);
      return found;
    },
  };
}

/** The book of an effective price list (a price table version's entries). */
export function priceBookOf(entries: readonly SourcedPriceEntry[]): PriceBook {
  return createPriceBook(
    entries.filter((e) => e.source === 'org'),
    entries.filter((e) => e.source === 'default'),
  );
}
