import type { ClickHouse } from '../../clickhouse/client.js';
import { sql, type Sql, type TenantScope } from '../../clickhouse/sql.js';
import { toSeconds } from '../params.js';
import { genaiCalls, TOKEN_SUMS, type TokenRow } from '../genai/calls.js';
import type { PriceBook } from '../genai/prices.js';
import { addTokenRow, emptyTotals, tokenMeasures, type TokenTotals } from '../genai/totals.js';
import { bucketStarts } from './buckets.js';
import { SPAN_METRICS, TOKEN_METRICS, type SpanMetric, type TimeseriesInput, type TimeseriesPoint, type TimeseriesResult, type TokenMetric } from './schema.js';

const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const;
const QUANTILE_FIELDS = ['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms'] as const;

interface Plan {
  scope: TenantScope;
  input: TimeseriesInput;
  fromSec: number;
  toSec: number;
  spanMetrics: SpanMetric[];
  tokenMetrics: TokenMetric[];
  /** span metrics come from GenAI calls (groupBy=model) instead of all spans */
  spansFromCalls: boolean;
}

const inList = (column: Sql, values: readonly string[]): Sql => sql`${column} IN (${sql.join(values.map((v) => sql`${v}`))})`;

function groupColumn(p: Plan): Sql {
  switch (p.input.groupBy) {
    case 'service':
      return sql`service_name`;
    case 'name':
      return sql`name`;
    case 'model':
      return sql`model`;
    case 'none':
      return sql`''`;
  }
}

function filters(p: Plan): Sql[] {
  const out: Sql[] = [];
  if (p.input.services.length) out.push(inList(sql`service_name`, p.input.services));
  if (p.input.names.length) out.push(inList(sql`name`, p.input.names));
  return out;
}

const spansWhere = (p: Plan, extra: readonly Sql[]): Sql =>
  sql.join([sql.tenant(p.scope), sql`timestamp >= toDateTime(${p.fromSec}) AND timestamp < toDateTime(${p.toSec})`, ...filters(p), ...extra], ' AND ');

const calls = (p: Plan): Sql => genaiCalls(p.scope, { by: 'time', from: p.input.from, to: p.input.to }, filters(p));

const bucketExpr = (p: Plan): Sql => sql`intDiv(toUInt32(timestamp), ${p.input.bucketSeconds}) * ${p.input.bucketSeconds}`;

/**
 * The `limit` largest groups by span (or call) count, and how many groups there are, in
 * one pass: the groups are counted and the largest picked from the same aggregation
 * (18.16 has no window functions to count past a LIMIT).
 */
async function topGroups(clickhouse: ClickHouse, p: Plan): Promise<{ groups: string[]; total: number }> {
  const g = groupColumn(p);
  const counts =
    p.spanMetrics.length && !p.spansFromCalls
      ? sql`SELECT ${g} AS grp, count() AS c FROM spans WHERE ${spansWhere(p, [])} GROUP BY grp`
      : sql`SELECT ${g} AS grp, countIf(counted) AS c FROM ${calls(p)} GROUP BY grp HAVING c > 0`;
  const [row] = await clickhouse.query<{ total: string; top: string[] }>(
    p.scope,
    sql`SELECT count() AS total,
          arrayMap(x -> tupleElement(x, 2), arraySlice(arraySort(x -> (-toInt64(tupleElement(x, 1)), tupleElement(x, 2)), groupArray((c, grp))), 1, ${p.input.limit})) AS top
        FROM (${counts})`,
  );
  return { groups: row?.top ?? [], total: Number(row?.total ?? 0) };
}

interface SpanRow {
  grp: string;
  bucket: number | string;
  cnt: string;
  errs: string;
  q?: Array<number | null>;
}

async function spanSeries(clickhouse: ClickHouse, p: Plan, groups: string[] | null): Promise<SpanRow[]> {
  const g = groupColumn(p);
  const wantQ = p.spanMetrics.some((m) => (QUANTILE_FIELDS as readonly string[]).includes(m));
  const only = groups ? [inList(g, groups)] : [];
  if (p.spansFromCalls) {
    const q = wantQ ? sql`, quantilesIf(${sql.join(QUANTILES.map((x) => sql`${x}`))})(duration_ns, counted) AS q` : sql.empty;
    return clickhouse.query<SpanRow>(
      p.scope,
      sql`SELECT ${g} AS grp, ${bucketExpr(p)} AS bucket, countIf(counted) AS cnt, countIf(counted AND status_code = 2) AS errs ${q}
          FROM ${calls(p)} ${only.length ? sql`WHERE ${sql.join(only, ' AND ')}` : sql.empty}
          GROUP BY grp, bucket`,
    );
  }
  const q = wantQ ? sql`, quantiles(${sql.join(QUANTILES.map((x) => sql`${x}`))})(duration_ns) AS q` : sql.empty;
  return clickhouse.query<SpanRow>(
    p.scope,
    sql`SELECT ${g} AS grp, ${bucketExpr(p)} AS bucket, count() AS cnt, countIf(status_code = 2) AS errs ${q}
        FROM spans WHERE ${spansWhere(p, only)}
        GROUP BY grp, bucket`,
  );
}

type TokenSeriesRow = TokenRow & { grp: string; bucket: number | string; model: string };

function tokenSeries(clickhouse: ClickHouse, p: Plan, groups: string[] | null): Promise<TokenSeriesRow[]> {
  const g = groupColumn(p);
  const only = groups ? sql`WHERE ${inList(g, groups)}` : sql.empty;
  return clickhouse.query<TokenSeriesRow>(
    p.scope,
    sql`SELECT ${g} AS grp, ${bucketExpr(p)} AS bucket, model, ${TOKEN_SUMS}
        FROM ${calls(p)} ${only}
        GROUP BY grp, bucket, model`,
  );
}

const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/**
 * Span count, error rate and latency percentiles from `spans`, and token usage and cost
 * from GenAI calls, per bucket and group. Buckets are `intDiv(toUInt32(timestamp), size)`
 * (18.16 has no toStartOfInterval); every series gets a point for every bucket.
 */
export async function timeseries(deps: { clickhouse: ClickHouse; prices: PriceBook }, scope: TenantScope, input: TimeseriesInput): Promise<TimeseriesResult> {
  const { clickhouse, prices } = deps;
  const p: Plan = {
    scope,
    input,
    fromSec: toSeconds(input.from),
    toSec: Math.ceil(input.to.getTime() / 1000),
    spanMetrics: SPAN_METRICS.filter((m) => input.metrics.includes(m)),
    tokenMetrics: TOKEN_METRICS.filter((m) => input.metrics.includes(m)),
    spansFromCalls: input.groupBy === 'model',
  };
  const top = input.groupBy === 'none' ? null : await topGroups(clickhouse, p);
  const groups = top?.groups ?? null;
  const order = groups ?? [''];
  const empty = {
    time: '',
    spans: null as SpanRow | null,
    tokens: null as TokenTotals | null,
  };
  const cells = new Map<string, typeof empty>();
  const cell = (grp: string, bucket: number): typeof empty => {
    const k = `${bucket}|${grp}`;
    let c = cells.get(k);
    if (!c) cells.set(k, (c = { ...empty }));
    return c;
  };
  if (order.length) {
    const [spanRows, tokenRows] = await Promise.all([
      p.spanMetrics.length ? spanSeries(clickhouse, p, groups) : Promise.resolve([]),
      p.tokenMetrics.length ? tokenSeries(clickhouse, p, groups) : Promise.resolve([]),
    ]);
    for (const r of spanRows) cell(r.grp, Number(r.bucket)).spans = r;
    for (const r of tokenRows) {
      const c = cell(r.grp, Number(r.bucket));
      addTokenRow((c.tokens ??= emptyTotals()), r, prices);
    }
  }
  const starts = bucketStarts(p.fromSec, p.toSec, input.bucketSeconds);
  const series = order.map((group) => ({
    group,
    points: starts.map((t): TimeseriesPoint => {
      const c = cells.get(`${t}|${group}`);
      const point: TimeseriesPoint = { time: new Date(t * 1000).toISOString() };
      const s = c?.spans;
      const count = s ? Number(s.cnt) : 0;
      for (const m of p.spanMetrics) {
        if (m === 'count') point.count = count;
        else if (m === 'errors') point.errors = s ? Number(s.errs) : 0;
        else if (m === 'errorRate') point.errorRate = count ? Number(s!.errs) / count : null;
        else {
          const v = count ? s?.q?.[QUANTILE_FIELDS.indexOf(m)] : null;
          point[m] = typeof v === 'number' && Number.isFinite(v) ? round3(v / 1e6) : null;
        }
      }
      if (p.tokenMetrics.length) {
        const measures = tokenMeasures(c?.tokens ?? emptyTotals());
        for (const m of p.tokenMetrics) (point as Record<string, unknown>)[m] = measures[m];
      }
      return point;
    }),
  }));
  return {
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    bucket: input.bucket,
    bucketSeconds: input.bucketSeconds,
    groupBy: input.groupBy,
    metrics: input.metrics,
    series,
    totalGroups: top?.total ?? 1,
    truncated: (top?.total ?? 1) > order.length,
  };
}
