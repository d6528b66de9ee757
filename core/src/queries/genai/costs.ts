import type { Queryable } from '../../tenancy/db.js';
import type { DayRange, TokenCounts } from './cells.js';
import { costPico } from './money.js';
import type { PriceBook } from './prices.js';
import { versionedBook, type VersionedPriceBook } from './price-versions.js';

/**
 * Stored GenAI costs (Postgres `genai_costs`): the cost of each closed UTC day per
 * workspace and model, computed once with a named price table version and kept in exact
 * integer pico-USD. `genai_cost_days` says which version each priced day of an
 * organization is on. Written only by `writeDayCosts`, under `lockCosts`.
 */
export interface PricedCell {
  workspaceId: string;
  day: string;
  model: string;
  counts: TokenCounts;
  costPico: bigint;
  /** the price table entry that matched the model; null: no price, cost 0 */
  priceEntry: string | null;
}

export interface StoredCost extends PricedCell {
  priceVersion: number;
  pricedAt: Date;
}

/** The stored costs of a range and what is needed to extend them: each priced day's version and those versions' books. */
export interface StoredCosts {
  costs: StoredCost[];
  dayVersions: Map<string, number>;
  books: Map<number, VersionedPriceBook>;
}

/** Prices one cell's counts with a book. */
export function priceCell<C extends { workspaceId: string; day: string; model: string; counts: TokenCounts }>(cell: C, book: PriceBook): PricedCell {
  const price = book.lookup(cell.model);
  return {
    workspaceId: cell.workspaceId,
    day: cell.day,
    model: cell.model,
    counts: cell.counts,
    costPico: price ? costPico(cell.counts, price) : 0n,
    priceEntry: price?.model ?? null,
  };
}

/** Advisory lock class (with the org's hash): stored costs of an organization change one transaction at a time. */
const COSTS_LOCK = 7_263_413;

export async function lockCosts(client: Queryable, orgId: string): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [COSTS_LOCK, orgId]);
}

interface CostRow {
  workspace_id: string;
  day: string;
  model: string;
  calls: string;
  input_tokens: string;
  output_tokens: string;
  cache_read_tokens: string;
  cache_creation_tokens: string;
  reasoning_tokens: string;
  uncached_input_tokens: string;
  price_entry: string | null;
  cost_pico: string;
  price_version: number;
  priced_at: Date;
}

const fromRow = (r: CostRow): StoredCost => ({
  workspaceId: r.workspace_id,
  day: r.day,
  model: r.model,
  counts: {
    calls: BigInt(r.calls),
    inputTokens: BigInt(r.input_tokens),
    outputTokens: BigInt(r.output_tokens),
    cacheReadTokens: BigInt(r.cache_read_tokens),
    cacheCreationTokens: BigInt(r.cache_creation_tokens),
    reasoningTokens: BigInt(r.reasoning_tokens),
    uncachedInputTokens: BigInt(r.uncached_input_tokens),
  },
  costPico: BigInt(r.cost_pico),
  priceEntry: r.price_entry,
  priceVersion: r.price_version,
  pricedAt: r.priced_at,
});

/** `day` as text: node-pg would turn a date into a local-midnight Date. */
export async function readStoredCostRows(db: Queryable, orgId: string, range: DayRange): Promise<StoredCost[]> {
  const { rows } = await db.query<CostRow>(
    `SELECT workspace_id, day::text AS day, model, calls, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens,
            uncached_input_tokens, price_entry, cost_pico::text AS cost_pico, price_version, priced_at
       FROM genai_costs WHERE org_id = $1 AND day BETWEEN $2::date AND $3::date`,
    [orgId, range.fromDay, range.toDay],
  );
  return rows.map(fromRow);
}

/** Priced days of the range → the version each is on. */
export async function readPricedDays(db: Queryable, orgId: string, range: DayRange): Promise<Map<string, number>> {
  const { rows } = await db.query<{ day: string; price_version: number }>(
    'SELECT day::text AS day, price_version FROM genai_cost_days WHERE org_id = $1 AND day BETWEEN $2::date AND $3::date',
    [orgId, range.fromDay, range.toDay],
  );
  return new Map(rows.map((r) => [r.day, r.price_version]));
}

/** Books of the given versions of the organization's price table. */
export async function loadVersionBooks(db: Queryable, orgId: string, versions: Iterable<number>): Promise<Map<number, VersionedPriceBook>> {
  const wanted = [...new Set(versions)];
  if (wanted.length === 0) return new Map();
  const { rows } = await db.query<{ version: number; entries: Parameters<typeof versionedBook>[0]['entries'] }>(
    'SELECT version, entries FROM price_versions WHERE org_id = $1 AND version = ANY($2::int[])',
    [orgId, wanted],
  );
  return new Map(rows.map((r) => [r.version, versionedBook(r)]));
}

export async function loadStoredCosts(db: Queryable, orgId: string, range: DayRange): Promise<StoredCosts> {
  const [costs, dayVersions] = await Promise.all([readStoredCostRows(db, orgId, range), readPricedDays(db, orgId, range)]);
  return { costs, dayVersions, books: await loadVersionBooks(db, orgId, [...dayVersions.values(), ...costs.map((c) => c.priceVersion)]) };
}

export interface DayCosts {
  orgId: string;
  /** the workspaces whose costs are replaced: the organization's current ones (a deleted workspace's bill stays) */
  workspaceIds: readonly string[];
  days: readonly string[];
  version: number;
  /** every cell of those days and workspaces, priced with `version` */
  cells: readonly PricedCell[];
}

/**
 * Replaces the stored costs of `days` with `cells` priced with `version`, and marks every
 * one of the days as priced with it, also a day without calls. Call inside a transaction
 * holding `lockCosts`.
 */
export async function writeDayCosts(client: Queryable, input: DayCosts): Promise<void> {
  const { orgId, days, version, cells } = input;
  if (days.length === 0) return;
  await client.query('DELETE FROM genai_costs WHERE org_id = $1 AND day = ANY($2::date[]) AND workspace_id = ANY($3::text[])', [orgId, days, input.workspaceIds]);
  if (cells.length) {
    const column = <T>(f: (c: PricedCell) => T): T[] => cells.map(f);
    await client.query(
      `INSERT INTO genai_costs (org_id, price_version, workspace_id, day, model, calls, input_tokens, output_tokens, cache_read_tokens,
                                cache_creation_tokens, reasoning_tokens, uncached_input_tokens, price_entry, cost_pico)
       SELECT $1::text, $2::integer, u.* FROM unnest($3::text[], $4::date[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[],
                                                   $10::bigint[], $11::bigint[], $12::bigint[], $13::text[], $14::numeric[]) AS u`,
      [
        orgId,
        version,
        column((c) => c.workspaceId),
        column((c) => c.day),
        column((c) => c.model),
        column((c) => c.counts.calls.toString()),
        column((c) => c.counts.inputTokens.toString()),
        column((c) => c.counts.outputTokens.toString()),
        column((c) => c.counts.cacheReadTokens.toString()),
        column((c) => c.counts.cacheCreationTokens.toString()),
        column((c) => c.counts.reasoningTokens.toString()),
        column((c) => c.counts.uncachedInputTokens.toString()),
        column((c) => c.priceEntry),
        column((c) => c.costPico.toString()),
      ],
    );
  }
  await client.query(
    `INSERT INTO genai_cost_days (org_id, day, price_version) SELECT $1::text, d, $3::integer FROM unnest($2::date[]) AS d
     ON CONFLICT (org_id, day) DO UPDATE SET price_version = EXCLUDED.price_version, priced_at = now()`,
    [orgId, days, version],
  );
}
