import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type Sql, type TenantScope } from '../../clickhouse/sql.js';
import type { Queryable } from '../../tenancy/db.js';
import { getPlan } from '../../tenancy/plans.js';
import { listWorkspaces } from '../../tenancy/workspaces.js';
import { genaiCalls, TOKEN_SUMS, type TokenRow } from '../genai/calls.js';
import { big, countJson, formatUsd } from '../genai/money.js';
import { loadPriceBook, type PriceBook } from '../genai/prices.js';
import { addTokenRow, emptyTotals, type TokenTotals } from '../genai/totals.js';
import type { UsageGroup, UsageInput, UsageReport, UsageRow } from './schema.js';

/** What a usage report needs from Postgres, loaded once per request. */
export interface UsageContext {
  workspaces: ReadonlyArray<{ id: string; slug: string }>;
  prices: PriceBook;
  monthlySpanQuota: number | null;
  now: Date;
}

/** The organization's workspaces (the scope), prices and plan. */
export async function loadUsageContext(db: Queryable, orgId: string): Promise<{ scope: TenantScope; context: UsageContext }> {
  const [workspaces, prices, plan] = await Promise.all([listWorkspaces(db, orgId), loadPriceBook(db, orgId), getPlan(db, orgId)]);
  return {
    scope: { orgId, workspaceIds: workspaces.map((w) => w.id) },
    context: { workspaces, prices, monthlySpanQuota: plan?.monthlySpanQuota ?? null, now: new Date() },
  };
}

/** Keys other than model, as the usage_daily columns that carry them. */
const KEY_COLUMNS: Record<Exclude<UsageGroup, 'model'>, string> = { workspace: 'workspace_id', day: 'day', service: 'service_name' };

interface KeyedRow {
  workspace_id?: string;
  day?: string;
  service_name?: string;
  model?: string;
}
type DailyRow = KeyedRow & { spans: string; bytes: string };
type CallRow = KeyedRow & TokenRow & { model: string; spans_all: string; bytes_all: string };

interface Acc {
  keys: KeyedRow;
  spans: bigint;
  bytes: bigint;
  tokens: TokenTotals;
}

function baseKeys(groupBy: readonly UsageGroup[]): Array<Exclude<UsageGroup, 'model'>> {
  return groupBy.filter((g): g is Exclude<UsageGroup, 'model'> => g !== 'model');
}

const keyOf = (r: KeyedRow, groups: readonly UsageGroup[]): string =>
  JSON.stringify(groups.map((g) => (g === 'model' ? (r.model ?? '') : (r[KEY_COLUMNS[g] as keyof KeyedRow] ?? ''))));

/**
 * Org usage by the day spans were accepted: spans and bytes from `usage_daily` (exactly
 * what was stored), GenAI tokens and cost from the GenAI calls. With model in groupBy the
 * GenAI spans' own spans/bytes go to their model's row and all other spans to model "",
 * so the totals stay exactly the usage_daily sums.
 */
export async function usageReport(deps: { clickhouse: ClickHouse; context: UsageContext }, scope: TenantScope, input: UsageInput): Promise<UsageReport> {
  const { clickhouse, context: ctx } = deps;
  const base = baseKeys(input.groupBy);
  const cols = base.map((g) => sql.identifier(KEY_COLUMNS[g]));
  const groupSql = (extra: Sql[]): Sql => (cols.length + extra.length ? sql`GROUP BY ${sql.join([...cols, ...extra])}` : sql.empty);
  const select = cols.length ? sql`${sql.join(cols)},` : sql.empty;
  const dayRange = sql`day >= toDate(${input.fromDay}) AND day <= toDate(${input.toDay})`;
  const month = ctx.now.toISOString().slice(0, 7);

  const [daily, callRows, [used]] = await Promise.all([
    clickhouse.query<DailyRow>(
      scope,
      sql`SELECT ${select} sum(spans) AS spans, sum(bytes) AS bytes FROM usage_daily WHERE ${sql.tenant(scope)} AND ${dayRange} ${groupSql([])}`,
    ),
    clickhouse.query<CallRow>(
      scope,
      sql`SELECT ${select} model, count() AS spans_all, sum(size_bytes) AS bytes_all, ${TOKEN_SUMS}
          FROM ${genaiCalls(scope, { by: 'day', fromDay: input.fromDay, toDay: input.toDay })}
          ${groupSql([sql`model`])}`,
    ),
    clickhouse.query<{ spans: string }>(
      scope,
      sql`SELECT sum(spans) AS spans FROM usage_daily
          WHERE ${sql.tenant(scope)} AND day >= toDate(${`${month}-01`}) AND day <= toDate(${ctx.now.toISOString().slice(0, 10)})`,
    ),
  ]);

  const byModel = input.groupBy.includes('model');
  const rows = new Map<string, Acc>();
  const acc = (keys: KeyedRow): Acc => {
    const k = keyOf(keys, input.groupBy);
    let a = rows.get(k);
    if (!a) rows.set(k, (a = { keys, spans: 0n, bytes: 0n, tokens: emptyTotals() }));
    return a;
  };
  const withoutModel = (r: KeyedRow): KeyedRow => {
    const keys: KeyedRow = {};
    for (const g of base) (keys as Record<string, string | undefined>)[KEY_COLUMNS[g]] = r[KEY_COLUMNS[g] as keyof KeyedRow];
    return keys;
  };

  const totals = { spans: 0n, bytes: 0n, tokens: emptyTotals() };
  for (const r of daily) {
    const a = acc(byModel ? { ...withoutModel(r), model: '' } : withoutModel(r));
    a.spans += big(r.spans);
    a.bytes += big(r.bytes);
    totals.spans += big(r.spans);
    totals.bytes += big(r.bytes);
  }
  const unpriced = new Set<string>();
  for (const r of callRows) {
    const keys = byModel ? { ...withoutModel(r), model: r.model } : withoutModel(r);
    const a = acc(keys);
    addTokenRow(a.tokens, r, ctx.prices);
    addTokenRow(totals.tokens, r, ctx.prices);
    if (BigInt(r.calls) > 0n && !ctx.prices.lookup(r.model)) unpriced.add(r.model);
    if (byModel && r.model !== '') {
      // The GenAI spans move from the model "" row to their model's row.
      const rest = acc({ ...withoutModel(r), model: '' });
      a.spans += big(r.spans_all);
      a.bytes += big(r.bytes_all);
      rest.spans -= big(r.spans_all);
      rest.bytes -= big(r.bytes_all);
    }
  }

  const slugs = new Map(ctx.workspaces.map((w) => [w.id, w.slug]));
  const out: UsageRow[] = [...rows.values()]
    .filter((a) => a.spans !== 0n || a.bytes !== 0n || a.tokens.calls !== 0n)
    .map((a) => {
      const row: UsageRow = { ...measures(a.spans, a.bytes, a.tokens) };
      if (input.groupBy.includes('workspace')) {
        row.workspaceId = a.keys.workspace_id ?? '';
        row.workspaceSlug = slugs.get(row.workspaceId) ?? '';
      }
      if (input.groupBy.includes('day')) row.day = a.keys.day ?? '';
      if (input.groupBy.includes('service')) row.service = a.keys.service_name ?? '';
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
    totals: measures(totals.spans, totals.bytes, totals.tokens),
    unpricedModels: [...unpriced].sort(),
    quota: {
      period: month,
      monthlySpanQuota: quota,
      used: countJson(quotaUsed),
      remaining: quota === null ? null : Math.max(0, quota - countJson(quotaUsed)),
    },
  };
}

function measures(spans: bigint, bytes: bigint, t: TokenTotals): Omit<UsageRow, 'workspaceId' | 'workspaceSlug' | 'day' | 'service' | 'model'> {
  return {
    spans: countJson(spans),
    bytes: countJson(bytes),
    calls: countJson(t.calls),
    inputTokens: countJson(t.inputTokens),
    outputTokens: countJson(t.outputTokens),
    cacheReadTokens: countJson(t.cacheReadTokens),
    cacheCreationTokens: countJson(t.cacheCreationTokens),
    reasoningTokens: countJson(t.reasoningTokens),
    costUsd: formatUsd(t.costPico),
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
