import {
  byCell,
  currentPriceVersion,
  formatUsd,
  lockCosts,
  loadVersionBooks,
  priceCell,
  readGenAiCells,
  readPricedDays,
  readStoredCostRows,
  recordAudit,
  StorageError,
  withTransaction,
  writeDayCosts,
  type ClickHouse,
  type DayRange,
  type Logger,
  type PgPool,
  type StoredCost,
} from '@canopy/core';
import { planPricing, pricingWindow } from './plan.js';

export const PRICING_ACTOR = { type: 'system', id: 'pricing' } as const;

/** Days looked at by each run: two months, so spans replayed from dead letters weeks later are still caught up. */
export const DEFAULT_LOOKBACK_DAYS = 62;
export const DEFAULT_SETTLE_MS = 3_600_000;

export interface PricingDeps {
  clickhouse: ClickHouse;
  pool: PgPool;
  logger: Logger;
}

export interface PricingRunOptions {
  /** the clock of this run; tests pass one they control */
  now: Date;
  lookbackDays?: number;
  /** a day is priced once it ended this long ago (default 1 h) */
  settleMs?: number;
  /** stops between organizations (shutdown) */
  signal?: AbortSignal;
}

export interface PricingReport {
  window: DayRange;
  orgs: number;
  daysPriced: number;
  daysCaughtUp: number;
  failedOrgs: string[];
  durationMs: number;
}

export class PricingError extends Error {
  readonly code = 'pricing_failed';
}

/** Every organization with workspaces, and those workspaces. */
async function loadTenants(pool: PgPool): Promise<Map<string, string[]>> {
  const { rows } = await pool.query<{ id: string; org_id: string }>('SELECT id, org_id FROM workspaces ORDER BY org_id, id');
  const out = new Map<string, string[]>();
  for (const r of rows) out.set(r.org_id, [...(out.get(r.org_id) ?? []), r.id]);
  return out;
}

const dayTotals = (cells: ReadonlyArray<{ day: string; costPico: bigint }>, days: ReadonlySet<string>): Map<string, bigint> => {
  const out = new Map<string, bigint>([...days].map((d) => [d, 0n]));
  for (const c of cells) if (days.has(c.day)) out.set(c.day, out.get(c.day)! + c.costPico);
  return out;
};

/**
 * Prices one organization's closed days of the window: a day with calls that was never
 * priced gets the current version; a priced day whose calls ClickHouse now counts
 * differently (late spans) is priced again with the version it is on, and that catch-up is
 * audited (`costs.catch_up`) with each day's cost before and after.
 */
async function priceOrg(deps: PricingDeps, tenant: { orgId: string; workspaceIds: string[] }, window: DayRange): Promise<{ priced: number; caughtUp: number }> {
  const { orgId, workspaceIds } = tenant;
  const [cellList, storedAll, pricedDays] = await Promise.all([
    readGenAiCells(deps.clickhouse, { orgId, workspaceIds }, window),
    readStoredCostRows(deps.pool, orgId, window),
    readPricedDays(deps.pool, orgId, window),
  ]);
  const inScope = new Set(workspaceIds);
  const stored: StoredCost[] = storedAll.filter((s) => inScope.has(s.workspaceId));
  const cells = byCell(cellList);
  const plan = planPricing({ cells, stored, pricedDays });
  const days = [...plan.price, ...plan.catchUp];
  if (days.length === 0) return { priced: 0, caughtUp: 0 };
  const current = await currentPriceVersion(deps.pool, orgId);

  await withTransaction(deps.pool, async (client) => {
    await lockCosts(client, orgId);
    // A re-price may have run since the days were read: each day's version is read again under the lock.
    const onVersion = await readPricedDays(client, orgId, window);
    const byVersion = new Map<number, string[]>();
    for (const d of days) {
      const v = onVersion.get(d) ?? current.version;
      byVersion.set(v, [...(byVersion.get(v) ?? []), d]);
    }
    const books = await loadVersionBooks(client, orgId, byVersion.keys());
    const written: Array<{ day: string; costPico: bigint; version: number }> = [];
    for (const [version, ds] of byVersion) {
      const set = new Set(ds);
      const priced = [...cells.values()].filter((c) => set.has(c.day)).map((c) => priceCell(c, books.get(version)!));
      await writeDayCosts(client, { orgId, workspaceIds, days: ds, version, cells: priced });
      written.push(...priced.map((p) => ({ day: p.day, costPico: p.costPico, version })));
    }
    if (plan.catchUp.length === 0) return;
    const caught = new Set(plan.catchUp);
    const before = dayTotals(stored, caught);
    const after = dayTotals(written, caught);
    const describe = (totals: Map<string, bigint>, versionOf: (d: string) => number | undefined) =>
      Object.fromEntries([...totals].map(([d, pico]) => [d, { version: versionOf(d) ?? null, costUsd: formatUsd(pico) }]));
    await recordAudit(client, {
      orgId,
      actor: PRICING_ACTOR,
      action: 'costs.catch_up',
      targetType: 'genai_costs',
      targetId: `${plan.catchUp[0]}..${plan.catchUp[plan.catchUp.length - 1]}`,
      before: { days: describe(before, (d) => pricedDays.get(d)) },
      after: { days: describe(after, (d) => onVersion.get(d) ?? current.version) },
    });
  });
  deps.logger.info({ orgId, priced: plan.price, caughtUp: plan.catchUp, version: current.version }, 'pricing: stored GenAI costs of closed days');
  return { priced: plan.price.length, caughtUp: plan.catchUp.length };
}

/**
 * One pricing run over every organization: stores the GenAI cost of closed days (see
 * priceOrg). An organization that fails is logged and left for the next run; the run then
 * fails as a whole so the schedule retries it sooner.
 */
export async function runPricing(deps: PricingDeps, options: PricingRunOptions): Promise<PricingReport> {
  const started = Date.now();
  const window = pricingWindow(options.now, { lookbackDays: options.lookbackDays ?? DEFAULT_LOOKBACK_DAYS, settleMs: options.settleMs ?? DEFAULT_SETTLE_MS });
  const tenants = await loadTenants(deps.pool);
  const report: PricingReport = { window, orgs: 0, daysPriced: 0, daysCaughtUp: 0, failedOrgs: [], durationMs: 0 };
  for (const [orgId, workspaceIds] of tenants) {
    if (options.signal?.aborted) break;
    try {
      const r = await priceOrg(deps, { orgId, workspaceIds }, window);
      report.orgs += 1;
      report.daysPriced += r.priced;
      report.daysCaughtUp += r.caughtUp;
    } catch (err) {
      // Without ClickHouse no organization can be priced: the schedule retries the whole run.
      if (err instanceof StorageError && err.code === 'clickhouse_unavailable') throw err;
      report.failedOrgs.push(orgId);
      deps.logger.error({ orgId, err: (err as Error).message, code: (err as { code?: unknown }).code }, `pricing of ${orgId} failed: ${(err as Error).message}`);
    }
  }
  report.durationMs = Date.now() - started;
  if (report.failedOrgs.length) throw new PricingError(`pricing failed for ${report.failedOrgs.length} organization(s): ${report.failedOrgs.join(', ')}`);
  return report;
}
