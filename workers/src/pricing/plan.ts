import { cellKey, sameCounts, type StoredCost, type TokenCounts } from '@canopy/core';

const DAY_MS = 86_400_000;
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/**
 * The closed days a pricing run looks at: the `lookbackDays` days up to the last day that
 * ended at least `settleMs` ago. The settling time lets spans accepted just before midnight
 * reach ClickHouse before their day is priced; anything later is caught up.
 */
export function pricingWindow(now: Date, options: { lookbackDays: number; settleMs: number }): { fromDay: string; toDay: string } {
  const settledDayStart = Math.floor((now.getTime() - options.settleMs) / DAY_MS) * DAY_MS;
  const toMs = settledDayStart - DAY_MS;
  return { fromDay: utcDay(toMs - (options.lookbackDays - 1) * DAY_MS), toDay: utcDay(toMs) };
}

type Cell = { workspaceId: string; day: string; model: string; counts: TokenCounts };

export interface PricingPlan {
  /** closed days with calls that were never priced: priced with the current version */
  price: string[];
  /** priced days whose calls in ClickHouse no longer match what was priced: priced again with the day's version */
  catchUp: string[];
}

/**
 * Decides, for one organization, which days of the window to price or to price again.
 * `cells` are ClickHouse's (workspace, day, model) sums with calls; `stored` the stored
 * costs of the same workspaces and days; `pricedDays` the days already priced.
 */
export function planPricing(input: { cells: ReadonlyMap<string, Cell>; stored: readonly StoredCost[]; pricedDays: ReadonlyMap<string, number> }): PricingPlan {
  const storedByKey = new Map(input.stored.map((s) => [cellKey(s), s]));
  const price = new Set<string>();
  const catchUp = new Set<string>();
  for (const [key, cell] of input.cells) {
    if (!input.pricedDays.has(cell.day)) price.add(cell.day);
    else {
      const s = storedByKey.get(key);
      if (!s || !sameCounts(s.counts, cell.counts)) catchUp.add(cell.day);
    }
  }
  // Calls that were priced and are gone (a wrapper whose child arrived later is no longer counted).
  for (const [key, s] of storedByKey) if (!input.cells.has(key)) catchUp.add(s.day);
  return { price: [...price].sort(), catchUp: [...catchUp].sort() };
}
