import { parseArgs } from 'node:util';
import {
  AllTenants,
  createClickHouse,
  getTrace,
  loadPriceBook,
  loadUsageContext,
  searchTraces,
  sql,
  timeseries,
  timeseriesQuerySchema,
  traceSearchQuerySchema,
  usageQuerySchema,
  usageReport,
  type Sql,
  type TenantScope,
} from '@canopy/core';
import { createTestEnv, createTestOrg, type TestEnv } from '@canopy/core/testing';
import { BLOCK_SPANS, BLOCK_TRACES, FILTERS, GENAI_SHARE, WORKSPACE_SHARES, generateSpans } from './query/data.js';
import { percentile, round } from './stats.js';

/**
 * `query`: the read side against the performance targets of the query API (issue 4):
 * with 10 million spans over 30 days in 3 workspaces, trace by id p50 < 30 ms, search
 * p95 < 300 ms with and without an attribute filter, 30-day org usage < 200 ms, 7-day
 * analytics time series < 300 ms.
 *
 * The data is generated inside ClickHouse into a private database (createTestEnv), so
 * every rollup fills through the materialized views as on real ingest. Queries go through
 * the same core functions the query API's routes call, including their Postgres reads
 * (price book, usage context). A `SELECT 1` round trip and a tenant-scoped count() over
 * the 30 days are measured in the same run as baselines.
 */
export interface QueryBenchOptions {
  /** spans to generate; default 10 000 000 */
  spans?: number;
  /** days the spans spread over, ending now; default 30 */
  days?: number;
  /** timed runs per query variant; default 20 (trace by id: 10× this, at most 200) */
  iterations?: number;
}

export const QUERY_BENCH_DEFAULT_SPANS = 10_000_000;

/** Targets of issue 4, in ms. */
const TARGET_MS = { traceByIdP50: 30, searchP95: 300, usage: 200, analytics: 300 } as const;

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const RANGES = [
  ['1h', HOUR_MS],
  ['24h', DAY_MS],
  ['7d', 7 * DAY_MS],
  ['30d', 30 * DAY_MS],
] as const;
const VARIANTS = [
  ['', {}],
  ['Route', FILTERS.route],
  ['Status', FILTERS.status],
] as const;

const log = (msg: string): void => void process.stderr.write(`[bench query] ${msg}\n`);

/** `--spans N` when given on the command line (run.ts's own default belongs to the ingest benchmarks). */
export function spansOption(argv: readonly string[]): number | undefined {
  const { values } = parseArgs({ args: [...argv], options: { spans: { type: 'string' } }, allowPositionals: true, strict: false });
  if (typeof values.spans !== 'string') return undefined;
  const n = Number(values.spans);
  if (!Number.isInteger(n) || n < 1000) throw new Error(`--spans must be an integer of at least 1000, got ${JSON.stringify(values.spans)}`);
  return n;
}

interface Timing {
  p50: number;
  p95: number;
  samples: number[];
}

/** Runs `fn(i)` `warmup` times untimed, then `n` times timed, one at a time. */
async function measure(n: number, warmup: number, fn: (i: number) => Promise<unknown>): Promise<Timing> {
  for (let i = 0; i < warmup; i++) await fn(n + i);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), samples };
}

const ms = (v: number): number => round(v, 1);
const ratio = (a: number, b: number): number => round(a / b, 3);

/** Waits (at most `maxMs`) until ClickHouse has no merges running in the database, so they do not run under the measurements. */
async function settle(env: TestEnv, maxMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const [row] = await env.clickhouse.query<{ n: string }>(AllTenants, sql`SELECT count() AS n FROM system.merges WHERE database = ${env.clickhouse.database}`);
    if (Number(row?.n ?? 0) === 0 || Date.now() - started > maxMs) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function runQueryBench(options: QueryBenchOptions = {}): Promise<Record<string, unknown>> {
  const total = options.spans ?? QUERY_BENCH_DEFAULT_SPANS;
  const days = options.days ?? 30;
  const iterations = Math.max(3, options.iterations ?? 20);
  const started = performance.now();

  log(`creating a private ClickHouse + Postgres database`);
  const env = await createTestEnv();
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await env.cleanup();
  };
  // An interrupted run still drops its databases.
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`${signal}: dropping the benchmark databases`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const org = await createTestOrg(env, ['w1', 'w2', 'w3']);
    const workspaces = (['w1', 'w2', 'w3'] as const).map((slug) => org.workspaces[slug]!.id) as [string, string, string];
    // The largest workspace (WORKSPACE_SHARES[0] of the traces) is the one searched.
    const scope: TenantScope = { orgId: org.orgId, workspaceIds: [workspaces[0]] };

    // --- data -------------------------------------------------------------------------
    const toSec = Math.floor(Date.now() / 1000) - 120;
    const fromSec = toSec - days * 86_400;
    log(`generating ${total.toLocaleString('en')} spans over ${days} days in 3 workspaces (${round(BLOCK_SPANS / BLOCK_TRACES, 1)} spans/trace on average, ${round(GENAI_SHARE * 100, 1)} % GenAI calls)`);
    const genStarted = performance.now();
    // Large INSERT … SELECT statements: a longer timeout than the services use.
    const generator = createClickHouse({ ...env.config.clickhouse, requestTimeoutMs: 900_000 });
    let lastLog = 0;
    try {
      await generateSpans(generator, {
        orgId: org.orgId,
        workspaces,
        salt: env.id,
        total,
        fromSec,
        toSec,
        chunk: 500_000,
        parallel: 2,
        progress: (done) => {
          const s = (performance.now() - genStarted) / 1000;
          if (done === total || s - lastLog >= 10) {
            lastLog = s;
            log(`  ${done.toLocaleString('en')} / ${total.toLocaleString('en')} spans, ${s.toFixed(0)} s (${Math.round(done / s).toLocaleString('en')} spans/s)`);
          }
        },
      });
    } finally {
      await generator.close();
    }
    const generateMs = performance.now() - genStarted;

    const settleMs = await settle(env, 60_000);
    const counts = async <T>(q: Sql): Promise<T> => (await env.clickhouse.query<T>(AllTenants, q))[0]!;
    const stored = await counts<{ spans: string; ws: string; parts: string }>(
      sql`SELECT count() AS spans, countIf(workspace_id = ${workspaces[0]}) AS ws,
            (SELECT count() FROM system.parts WHERE database = ${env.clickhouse.database} AND table = 'spans' AND active) AS parts
          FROM spans`,
    );
    const rollups = await counts<{ traces: string; genai: string; usage: string }>(
      sql`SELECT (SELECT uniqExact(trace_id) FROM trace_lookup_monthly) AS traces, (SELECT count() FROM genai_spans) AS genai, (SELECT sum(spans) FROM usage_daily) AS usage`,
    );
    if (Number(stored.spans) !== total || Number(rollups.usage) !== total) {
      throw new Error(`generated ${stored.spans} spans (usage_daily: ${rollups.usage}), expected ${total}`);
    }
    log(`stored ${Number(stored.spans).toLocaleString('en')} spans in ${stored.parts} parts (${(generateMs / 1000).toFixed(0)} s; merges settled in ${(settleMs / 1000).toFixed(0)} s)`);

    const now = Date.now();
    const range = (widthMs: number, i: number): { from: string; to: string } => {
      // Each run ends a little earlier, so no two runs send the same query.
      const to = now - i * 1_000;
      return { from: String(to - widthMs), to: String(to) };
    };

    // --- baselines --------------------------------------------------------------------
    log('baselines: SELECT 1 round trip, tenant-scoped count() over the whole range');
    const ping = await measure(iterations * 2, 5, () => env.clickhouse.query(AllTenants, sql`SELECT 1 AS one`));
    const count30d = await measure(iterations, 2, (i) => {
      const r = range(days * DAY_MS, i);
      return env.clickhouse.query(
        scope,
        sql`SELECT count() AS n FROM spans WHERE ${sql.tenant(scope)} AND timestamp >= toDateTime(${Math.floor(Number(r.from) / 1000)}) AND timestamp < toDateTime(${Math.floor(Number(r.to) / 1000)})`,
      );
    });

    // --- trace by id ------------------------------------------------------------------
    const traceRuns = Math.min(200, iterations * 10);
    const traceWarmup = Math.max(5, Math.round(traceRuns / 10));
    const ids = (
      await env.clickhouse.query<{ trace_id: string }>(
        scope,
        sql`SELECT trace_id FROM trace_lookup_monthly WHERE ${sql.tenant(scope)} GROUP BY trace_id ORDER BY cityHash64(trace_id, ${env.id}) LIMIT ${traceRuns + traceWarmup}`,
      )
    ).map((r) => r.trace_id);
    if (ids.length < traceRuns + traceWarmup) throw new Error(`only ${ids.length} traces to sample`);
    log(`trace by id: ${traceRuns} random traces (+${traceWarmup} warm-up)`);
    let traceSpans = 0;
    const traceById = await measure(traceRuns, traceWarmup, async (i) => {
      const trace = await getTrace(env.clickhouse, scope, ids[i]!);
      if (!trace) throw new Error(`trace ${ids[i]} not found`);
      if (i < traceRuns) traceSpans += trace.spanCount;
    });

    // --- search -----------------------------------------------------------------------
    const figures: Record<string, number> = {};
    const searchP95 = { plain: 0, filtered: 0 };
    const found = new Map<string, number>();
    for (const [label, width] of RANGES) {
      if (width > days * DAY_MS) continue;
      for (const [variant, filter] of VARIANTS) {
        const t = await measure(iterations, 2, async (i) => {
          const input = traceSearchQuerySchema.parse({ ...range(width, i), ...filter });
          const { traces } = await searchTraces(env.clickhouse, scope, input);
          found.set(variant, (found.get(variant) ?? 0) + traces.length);
        });
        figures[`search${label}${variant}P50Ms`] = ms(t.p50);
        figures[`search${label}${variant}P95Ms`] = ms(t.p95);
        if (variant) searchP95.filtered = Math.max(searchP95.filtered, t.p95);
        else searchP95.plain = Math.max(searchP95.plain, t.p95);
        log(`search ${label.padEnd(3)} ${(variant || 'no filter').padEnd(9)} p50 ${t.p50.toFixed(1)} ms, p95 ${t.p95.toFixed(1)} ms`);
      }
    }
    for (const [variant] of VARIANTS) if (!found.get(variant)) throw new Error(`search ${variant || 'without filter'} found no traces in any range`);
    // Worst case of newest-first search: a filter too rare to fill a page reads the whole range.
    const rareLabel = `${days}d`;
    // Seconds per run on 10M spans: few runs, so the benchmark stays within minutes.
    const rare = await measure(Math.max(3, Math.round(iterations / 4)), 1, (i) =>
      searchTraces(env.clickhouse, scope, traceSearchQuerySchema.parse({ ...range(days * DAY_MS, i), ...FILTERS.rareUser })),
    );
    log(`search ${rareLabel} rare user (reads the whole range) p50 ${rare.p50.toFixed(1)} ms, p95 ${rare.p95.toFixed(1)} ms`);

    // --- org usage, as GET /orgs/:org/usage does it ---------------------------------------
    const usageRun = async (i: number, groupBy: string): Promise<number> => {
      // from the first generated span's day to today: every span, whatever the hour
      const input = usageQuerySchema.parse({ from: String(fromSec * 1000), to: String(now), groupBy });
      const { scope: s, context } = await loadUsageContext(env.pool, org.orgId);
      const report = await usageReport({ clickhouse: env.clickhouse, context }, s, input);
      return i === 0 ? report.totals.spans : 0;
    };
    let usageTotal = 0;
    const usage = await measure(iterations, 3, async (i) => (usageTotal += await usageRun(i, 'workspace,day')));
    const usageByModel = await measure(Math.max(3, Math.round(iterations / 2)), 1, (i) => usageRun(i, 'workspace,day,model'));
    if (usageTotal !== total) throw new Error(`usage report counted ${usageTotal} spans, expected ${total}`);
    log(`usage ${days}d workspace,day p50 ${usage.p50.toFixed(1)} ms, p95 ${usage.p95.toFixed(1)} ms; with model p95 ${usageByModel.p95.toFixed(1)} ms`);

    // --- analytics, as GET /…/analytics/timeseries does it --------------------------------
    const analyticsRange = Math.min(7, days) * DAY_MS;
    const series = (params: Record<string, string>) => async (i: number) => {
      const input = timeseriesQuerySchema.parse({ ...range(analyticsRange, i), ...params });
      const prices = await loadPriceBook(env.pool, org.orgId);
      return timeseries({ clickhouse: env.clickhouse, prices }, scope, input);
    };
    const analytics = await measure(iterations, 3, series({}));
    const analyticsByService = await measure(Math.max(3, Math.round(iterations / 2)), 1, series({ groupBy: 'service' }));
    const analyticsTokens = await measure(Math.max(3, Math.round(iterations / 2)), 1, series({ groupBy: 'model', metric: 'calls,p95Ms,inputTokens,outputTokens,costUsd' }));
    log(
      `analytics 7d p50 ${analytics.p50.toFixed(1)} ms, p95 ${analytics.p95.toFixed(1)} ms; by service p95 ${analyticsByService.p95.toFixed(1)} ms; ` +
        `tokens by model p95 ${analyticsTokens.p95.toFixed(1)} ms`,
    );

    const searchWorst = Math.max(searchP95.plain, searchP95.filtered);
    const analyticsWorst = Math.max(analytics.p95, analyticsByService.p95, analyticsTokens.p95);
    const result = {
      bench: 'query',
      figures: {
        spans: total,
        days,
        workspaces: 3,
        searchedWorkspaceSpans: Number(stored.ws),
        traces: Number(rollups.traces),
        genaiSpans: Number(rollups.genai),
        spansParts: Number(stored.parts),
        generateSeconds: round(generateMs / 1000, 1),
        generateSpansPerSec: Math.round(total / (generateMs / 1000)),
        settleSeconds: round(settleMs / 1000, 1),
        iterations,
        pingP50Ms: ms(ping.p50),
        pingP95Ms: ms(ping.p95),
        count30dP50Ms: ms(count30d.p50),
        count30dP95Ms: ms(count30d.p95),
        traceByIdSamples: traceRuns,
        traceByIdMeanSpans: round(traceSpans / traceRuns, 1),
        traceByIdP50Ms: ms(traceById.p50),
        traceByIdP95Ms: ms(traceById.p95),
        ...figures,
        searchNoFilterWorstP95Ms: ms(searchP95.plain),
        searchAttrFilterWorstP95Ms: ms(searchP95.filtered),
        [`search${rareLabel}RareUserP50Ms`]: ms(rare.p50),
        [`search${rareLabel}RareUserP95Ms`]: ms(rare.p95),
        usage30dP50Ms: ms(usage.p50),
        usage30dP95Ms: ms(usage.p95),
        usage30dByModelP95Ms: ms(usageByModel.p95),
        analytics7dP50Ms: ms(analytics.p50),
        analytics7dP95Ms: ms(analytics.p95),
        analytics7dByServiceP95Ms: ms(analyticsByService.p95),
        analytics7dTokensByModelP95Ms: ms(analyticsTokens.p95),
        totalSeconds: round((performance.now() - started) / 1000, 1),
      },
      ratios: {
        // < 1: the target of issue 4 holds
        traceByIdP50VsTarget: ratio(traceById.p50, TARGET_MS.traceByIdP50),
        searchNoFilterP95VsTarget: ratio(searchP95.plain, TARGET_MS.searchP95),
        searchAttrFilterP95VsTarget: ratio(searchP95.filtered, TARGET_MS.searchP95),
        searchRareFilterP95VsTarget: ratio(rare.p95, TARGET_MS.searchP95),
        usage30dP95VsTarget: ratio(usage.p95, TARGET_MS.usage),
        analytics7dP95VsTarget: ratio(analytics.p95, TARGET_MS.analytics),
        analytics7dWorstP95VsTarget: ratio(analyticsWorst, TARGET_MS.analytics),
        // against the baselines measured in this run
        traceByIdP50VsPing: ratio(traceById.p50, ping.p50),
        traceByIdP50VsCount30d: ratio(traceById.p50, count30d.p50),
        searchWorstP95VsCount30d: ratio(searchWorst, count30d.p50),
        usage30dP50VsPing: ratio(usage.p50, ping.p50),
        analytics7dP50VsCount30d: ratio(analytics.p50, count30d.p50),
      },
    };
    log(`done in ${result.figures.totalSeconds} s; workspace shares ${WORKSPACE_SHARES.join('/')}`);
    return result;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await cleanup();
  }
}
