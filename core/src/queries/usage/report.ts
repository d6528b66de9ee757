import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type TenantScope } from '../../clickhouse/sql.js';
import type { Db } from '../../tenancy/db.js';
import { getPlan } from '../../tenancy/plans.js';
import { listWorkspaces } from '../../tenancy/workspaces.js';
import { readGenAiCells, type DayRange } from '../genai/cells.js';
import { loadStoredCosts, type StoredCosts } from '../genai/costs.js';
import { big, countJson, formatUsd } from '../genai/money.js';
import { loadPriceBook, type VersionedPriceBook } from '../genai/price-versions.js';
import { addPricedCounts, emptyTotals, type TokenTotals } from '../genai/totals.js';
import { createCellPricer } from './cell-pricing.js';
import type { UsageGroup, UsageInput, UsageReport, UsageRow } from './schema.js';

/** What a usage report needs from Postgres, loaded once per request. */
export interface UsageContext {
  workspaces: ReadonlyArray<{ id: string; slug: string }>;
  /** the current price table version: what days not priced yet are computed with */
  prices: VersionedPriceBook;
  monthlySpanQuota: number | null;
  now: Date;
  /** the stored GenAI costs of a range */
  storedCosts(range: DayRange): Promise<StoredCosts>;
}

/** The organization's workspaces (the scope), current prices, stored costs and plan. */
export async function loadUsageContext(db: Db, orgId: string): Promise<{ scope: TenantScope; context: UsageContext }> {
  const [workspaces, prices, plan] = await Promise.all([listWorkspaces(db, orgId), loadPriceBook(db, orgId), getPlan(db, orgId)]);
  return {
    scope: { orgId, workspaceIds: workspaces.map((w) => w.id) },
    context: {
      workspaces,
      prices,
      monthlySpanQuota: plan?.monthlySpanQuota ?? null,
      now: new Date(),
      storedCosts: (range) => loadStoredCosts(db, orgId, range),
    },
  };
}

interface KeyedRow {
  workspace_id?: string;
  day?: string;
  service_name?: string;
  model?: string;
}
type DailyRow = { workspace_id: string; day: string; service_name?: string; spans: string; bytes: string };

interface Acc {
  keys: KeyedRow;
  spans: bigint;
  bytes: bigint;
  tokens: TokenTotals;
  versions: Set<number>;
  provisional: boolean;
}

/** One finest-grain row (workspace, day, service?, model?) → the keys of the row it is summed into. */
function keysFor(groupBy: readonly UsageGroup[], r: { workspaceId: string; day: string; service: string | null; model: string }): KeyedRow {
  const keys: KeyedRow = {};
  if (groupBy.includes('workspace')) keys.workspace_id = r.workspaceId;
  if (groupBy.includes('day')) keys.day = r.day;
  if (groupBy.includes('service')) keys.service_name = r.service ?? '';
  if (groupBy.includes('model')) keys.model = r.model;
  return keys;
}

/**
 * Org usage by the day spans were accepted: spans and bytes from `usage_daily` (exactly
 * what was stored), GenAI tokens from the GenAI calls, cost from the stored costs of
 * priced days and, for days not priced yet, computed with the current price version
 * (see createCellPricer). ClickHouse is read per workspace and day (and service when
 * asked) and folded into the requested groups here, so each row knows which versions
 * its cost came from and whether any of it is not stored yet. With model in groupBy the
 * GenAI spans' own spans/bytes go to their model's row and all other spans to model "",
 * so the totals stay exactly the usage_daily sums.
 */
export async function usageReport(deps: { clickhouse: ClickHouse; context: UsageContext }, scope: TenantScope, input: UsageInput): Promise<UsageReport> {
  const { clickhouse, context: ctx } = deps;
  const byService = input.groupBy.includes('service');
  const byModel = input.groupBy.includes('model');
  const range = { fromDay: input.fromDay, toDay: input.toDay };
  const today = ctx.now.toISOString().slice(0, 10);
  const month = ctx.now.toISOString().slice(0, 7);
  const dailyKeys = byService ? sql`workspace_id, day, service_name` : sql`workspace_id, day`;

  const [daily, cells, [used], stored] = await Promise.all([
    clickhouse.query<DailyRow>(
      scope,
      sql`SELECT ${dailyKeys}, sum(spans) AS spans, sum(bytes) AS bytes FROM usage_daily
          WHERE ${sql.tenant(scope)} AND day >= toDate(${input.fromDay}) AND day <= toDate(${input.toDay}) GROUP BY ${dailyKeys}`,
    ),
    readGenAiCells(clickhouse, scope, { ...range, byService }),
    clickhouse.query<{ spans: string }>(
      scope,
      sql`SELECT sum(spans) AS spans FROM usage_daily
          WHERE ${sql.tenant(scope)} AND day >= toDate(${`${month}-01`}) AND day <= toDate(${today})`,
    ),
    ctx.storedCosts(range),
  ]);
  const costOf = createCellPricer({ cells, stored, current: ctx.prices });

  const rows = new Map<string, Acc>();
  const fresh = (keys: KeyedRow): Acc => ({ keys, spans: 0n, bytes: 0n, tokens: emptyTotals(), versions: new Set(), provisional: false });
  const acc = (keys: KeyedRow): Acc => {
    const k = JSON.stringify(keys);
    let a = rows.get(k);
    if (!a) rows.set(k, (a = fresh(keys)));
    return a;
  };
  const totals = fresh({});

  for (const r of daily) {
    const a = acc(keysFor(input.groupBy, { workspaceId: r.workspace_id, day: r.day, service: r.service_name ?? null, model: '' }));
    // An open day's counts still grow.
    const open = r.day >= today;
    for (const x of [a, totals]) {
      x.spans += big(r.spans);
      x.bytes += big(r.bytes);
      x.provisional ||= open;
    }
  }
  const unpriced = new Set<string>();
  for (const c of cells) {
    const a = acc(keysFor(input.groupBy, c));
    const cost = costOf(c, { split: byService });
    if (c.counts.calls > 0n) {
      for (const x of [a, totals]) {
        x.versions.add(cost.version);
        x.provisional ||= cost.provisional || c.day >= today;
      }
      if (!cost.priced) unpriced.add(c.model);
    }
    addPricedCounts(a.tokens, c, cost);
    addPricedCounts(totals.tokens, c, cost);
    if (byModel && c.model !== '') {
      // The GenAI spans move from the model "" row to their model's row.
      const rest = acc(keysFor(input.groupBy, { ...c, model: '' }));
      a.spans += c.spans;
      a.bytes += c.bytes;
      rest.spans -= c.spans;
      rest.bytes -= c.bytes;
    }
  }

  const slugs = new Map(ctx.workspaces.map((w) => [w.id, w.slug]));
  const out: UsageRow[] = [...rows.values()]
    .filter((a) => a.spans !== 0n || a.bytes !== 0n || a.tokens.calls !== 0n)
    .map((a) => {
      const row: UsageRow = { ...measures(a) };
      if (input.groupBy.includes('workspace')) {
        row.workspaceId = a.keys.workspace_id ?? '';
        row.workspaceSlug = slugs.get(row.workspaceId) ?? '';
      }
      if (input.groupBy.includes('day')) row.day = a.keys.day ?? '';
      if (byService) row.service = a.keys.service_name ?? '';
      if (byModel) row.model = a.keys.model ?? '';
      return orderKeys(row);
    })
    .sort(compareRows);

  const quotaUsed = big(used?.spans);
  const quota = ctx.monthlySpanQuota;
  return {
    from: input.fromDay,
    to: input.toDay,
    groupBy: input.groupBy,
    rows: out,
    totals: measures(totals),
    unpricedModels: [...unpriced].sort(),
    currentPriceVersion: ctx.prices.version,
    quota: {
      period: month,
      monthlySpanQuota: quota,
      used: countJson(quotaUsed),
      remaining: quota === null ? null : Math.max(0, quota - countJson(quotaUsed)),
    },
  };
}

function measures(a: Acc): Omit<UsageRow, 'workspaceId' | 'workspaceSlug' | 'day' | 'service' | 'model'> {
  const t = a.tokens;
  return {
    spans: countJson(a.spans),
    bytes: countJson(a.bytes),
    calls: countJson(t.calls),
    inputTokens: countJson(t.inputTokens),
    outputTokens: countJson(t.outputTokens),
    cacheReadTokens: countJson(t.cacheReadTokens),
    cacheCreationTokens: countJson(t.cacheCreationTokens),
    reasoningTokens: countJson(t.reasoningTokens),
    costUsd: formatUsd(t.costPico),
    priceVersions: [...a.versions].sort((x, y) => x - y),
    provisional: a.provisional,
  };
}

/** Keys first, in a fixed order, then the measures: the JSON reads like the CSV. */
function orderKeys(r: UsageRow): UsageRow {
  const { workspaceId, workspaceSlug, day, service, model, ...m } = r;
  return {
    ...(workspaceId !== undefined ? { workspaceId, workspaceSlug } : {}),
    ...(day !== undefined ? { day } : {}),
    ...(service !== undefined ? { service } : {}),
    ...(model !== undefined ? { model } : {}),
    ...m,
  };
}

function compareRows(a: UsageRow, b: UsageRow): number {
  for (const k of ['day', 'workspaceSlug', 'workspaceId', 'service', 'model'] as const) {
    const x = a[k] ?? '';
    const y = b[k] ?? '';
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
