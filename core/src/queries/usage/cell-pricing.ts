import { byCell, cellKey, sameCounts, type GenAiCell } from '../genai/cells.js';
import type { StoredCosts } from '../genai/costs.js';
import { costPico } from '../genai/money.js';
import type { PriceBook } from '../genai/prices.js';
import type { VersionedPriceBook } from '../genai/price-versions.js';

/** How the cost of one workspace/day/model cell is found. */
export interface CellPricing {
  version: number;
  book: PriceBook;
  /** the stored cost, when it still matches ClickHouse's tokens: the cell is final */
  stored: { costPico: bigint; priced: boolean } | null;
}

/** A cell's (or part of a cell's, by service) cost, the version it is from, and whether it is stored. */
export interface CellCost {
  costPico: bigint;
  priced: boolean;
  version: number;
  provisional: boolean;
}

/**
 * Decides how each cell of the report is priced:
 * - stored, with the tokens it was priced from still what ClickHouse holds: the stored cost;
 * - stored or on a priced day, but ClickHouse holds other tokens now (spans that arrived
 *   after the day was priced): those tokens with the day's version, provisional until the
 *   pricing job catches the day up with that same version;
 * - not priced yet (today, or a closed day the job has not reached): the current version,
 *   provisional.
 */
export function createCellPricer(input: { cells: readonly GenAiCell[]; stored: StoredCosts; current: VersionedPriceBook }): (cell: GenAiCell, options: { split: boolean }) => CellCost {
  const { stored, current } = input;
  const storedByKey = new Map(stored.costs.map((c) => [cellKey(c), c]));
  const book = (version: number): PriceBook => {
    const b = version === current.version ? current : stored.books.get(version);
    if (!b) throw new Error(`price table version ${version} is not loaded`);
    return b;
  };
  const pricing = new Map<string, CellPricing>();
  for (const [key, cell] of byCell(input.cells)) {
    const s = storedByKey.get(key);
    if (s && sameCounts(s.counts, cell.counts)) {
      pricing.set(key, { version: s.priceVersion, book: book(s.priceVersion), stored: { costPico: s.costPico, priced: s.priceEntry !== null } });
    } else {
      const version = s?.priceVersion ?? stored.dayVersions.get(cell.day) ?? current.version;
      pricing.set(key, { version, book: book(version), stored: null });
    }
  }
  return (cell, options) => {
    const p = pricing.get(cellKey(cell));
    if (!p) return { costPico: 0n, priced: true, version: current.version, provisional: false }; // no counted calls
    // A cell read by service is a part of a stored cost: priced with the same version's
    // prices, the parts add up to the stored cost exactly (cost is linear in tokens).
    if (p.stored && !options.split) return { ...p.stored, version: p.version, provisional: false };
    const price = p.book.lookup(cell.model);
    return { costPico: price ? costPico(cell.counts, price) : 0n, priced: price !== null, version: p.version, provisional: p.stored === null };
  };
}
