import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadUsageContext, sql, updatePlan, usageQuerySchema, usageReport, usageReportSchema, usageToCsv, type UsageReport } from '../../src/index.js';
import { createTestEnv, createTestOrg, type TestEnv } from '../../src/testing/index.js';
import { csvRecords, insertSpans, newSpanId, newTraceId, scopeOf, usdToPico, type SpanSpec } from './helpers.js';

let env: TestEnv;
let orgId: string;
let wsA: { id: string; slug: string };
let wsB: { id: string; slug: string };
/** What the normalizer (the collector's own count) accepted, per org, for the report's days. */
const accepted = { spans: 0, bytes: 0 };
const DAY1 = Date.UTC(2026, 10, 2, 12) / 1000;
const DAY2 = Date.UTC(2026, 10, 3, 12) / 1000;

const span = (service: string, attrs: SpanSpec['attrs'] = {}, parent?: { traceId: string; spanId: string }): SpanSpec => ({
  traceId: parent?.traceId ?? newTraceId(),
  spanId: newSpanId(),
  ...(parent ? { parentSpanId: parent.spanId } : {}),
  name: 'op',
  service,
  startMs: Date.UTC(2026, 10, 2, 11),
  durationMs: 5,
  attrs,
});

async function insert(workspaceId: string, specs: SpanSpec[], at: { ingestedAtSec: number; counted?: boolean }): Promise<void> {
  const r = await insertSpans(env, { orgId, workspaceId, ingestedAtSec: at.ingestedAtSec }, specs);
  if (at.counted ?? true) {
    accepted.spans += r.accepted;
    accepted.bytes += r.bytes;
  }
}

async function report(query: Record<string, string> = {}): Promise<UsageReport> {
  const input = usageQuerySchema.parse({ from: '2026-11-01', to: '2026-12-01', ...query });
  const { scope, context } = await loadUsageContext(env.pool, orgId);
  const r = await usageReport({ clickhouse: env.clickhouse, context }, scope, input);
  expect(usageReportSchema.parse(r)).toEqual(r);
  return r;
}

const gpt = (input: number, output: number): SpanSpec['attrs'] => ({ 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': input, 'gen_ai.usage.output_tokens': output });

beforeAll(async () => {
  env = await createTestEnv();
  const org = await createTestOrg(env, ['prod', 'dev']);
  orgId = org.orgId;
  wsA = org.workspaces.prod!;
  wsB = org.workspaces.dev!;
  const wrapper = span('=HYPERLINK("http://x")', gpt(1000, 100));
  await insert(wsA.id, [span('api'), span('api'), span('db'), wrapper, span('=HYPERLINK("http://x")', gpt(1000, 100), wrapper)], { ingestedAtSec: DAY1 });
  await insert(wsA.id, [span('api'), span('llm,worker', { 'llm.model_name': '+claude-3-haiku', 'llm.token_count.prompt': 4000, 'llm.token_count.completion': 400 })], { ingestedAtSec: DAY2 });
  await insert(wsB.id, [span('api'), span('llm,worker', gpt(10, 1))], { ingestedAtSec: DAY2 });
  // outside the reported month, and in another organization: not counted
  await insert(wsA.id, [{ ...span('api'), startMs: Date.UTC(2026, 9, 31, 22) }], { ingestedAtSec: Date.UTC(2026, 9, 31, 23) / 1000, counted: false });
  const other = await createTestOrg(env, ['x']);
  await insertSpans(env, { orgId: other.orgId, workspaceId: other.workspaces.x!.id, ingestedAtSec: DAY1 }, [span('api')]);
});
afterAll(() => env?.cleanup());

const sum = (r: UsageReport, k: 'spans' | 'bytes' | 'inputTokens' | 'outputTokens' | 'calls'): number => r.rows.reduce((a, x) => a + x[k], 0);

describe('org usage', () => {
  it('totals equal exactly what was accepted, and the rows add up to the totals', async () => {
    const r = await report();
    expect(r.totals.spans).toBe(accepted.spans);
    expect(r.totals.bytes).toBe(accepted.bytes);
    const [stored] = await env.clickhouse.query<{ spans: string; bytes: string }>(
      scopeOf(orgId, wsA.id, wsB.id),
      // the table itself, summed independently of the report
      sql`SELECT sum(spans) AS spans, sum(bytes) AS bytes FROM usage_daily
        WHERE ${sql.tenant(scopeOf(orgId, wsA.id, wsB.id))} AND day >= toDate('2026-11-01') AND day <= toDate('2026-11-30')`,
    );
    expect([r.totals.spans, r.totals.bytes]).toEqual([Number(stored!.spans), Number(stored!.bytes)]);
    expect([sum(r, 'spans'), sum(r, 'bytes')]).toEqual([r.totals.spans, r.totals.bytes]);
  });

  it('groups by workspace and day by default, with the workspace slug', async () => {
    const r = await report();
    expect(r.groupBy).toEqual(['workspace', 'day']);
    expect(r.rows.map((x) => [x.day, x.workspaceSlug, x.spans, x.calls, x.inputTokens, x.outputTokens])).toEqual([
      ['2026-11-02', 'prod', 5, 1, 1000, 100],
      ['2026-11-03', 'dev', 2, 1, 10, 1],
      ['2026-11-03', 'prod', 2, 1, 4000, 400],
    ]);
    expect(r.rows[0]).toMatchObject({ workspaceId: wsA.id, costUsd: '0.0035' });
    // closed days nobody priced yet: computed with the current version (1, created when first needed), not final
    expect(r.rows.map((x) => [x.priceVersions, x.provisional])).toEqual([
      [[1], true],
      [[1], true],
      [[1], true],
    ]);
    expect(r.currentPriceVersion).toBe(1);
    expect(Object.keys(r.rows[0]!).slice(0, 3)).toEqual(['workspaceId', 'workspaceSlug', 'day']);
  });

  for (const groupBy of ['day', 'workspace', 'service', 'model', 'workspace,service,model', 'day,model', 'none']) {
    it(`keeps totals exact with groupBy=${groupBy}`, async () => {
      const r = await report({ groupBy });
      expect(r.totals.spans).toBe(accepted.spans);
      for (const k of ['spans', 'bytes', 'inputTokens', 'outputTokens', 'calls'] as const) expect(sum(r, k), k).toBe(r.totals[k]);
      expect(r.rows.reduce((a, x) => a + usdToPico(x.costUsd), 0n)).toBe(usdToPico(r.totals.costUsd));
    });
  }

  it('puts GenAI spans on their model’s row and every other span on model ""', async () => {
    const r = await report({ groupBy: 'model' });
    expect(r.rows.map((x) => [x.model, x.spans, x.calls, x.inputTokens])).toEqual([
      ['', 5, 0, 0],
      ['+claude-3-haiku', 1, 1, 4000],
      ['gpt-4o', 3, 2, 1010],
    ]);
    expect(r.unpricedModels).toEqual(['+claude-3-haiku']);
  });

  it('reports the monthly quota with what this month used', async () => {
    const before = await report();
    expect(before.quota).toMatchObject({ monthlySpanQuota: null, remaining: null, period: new Date().toISOString().slice(0, 7) });
    const used = before.quota.used;
    await insert(wsB.id, [span('api'), span('api')], { ingestedAtSec: Math.floor(Date.now() / 1000), counted: false });
    await updatePlan(env.pool, { type: 'system', id: 'test' }, { orgId, monthlySpanQuota: 1000 });
    const after = await report();
    expect(after.quota).toMatchObject({ monthlySpanQuota: 1000, used: used + 2, remaining: 1000 - used - 2 });
  });

  it('exports CSV that a spreadsheet opens safely', async () => {
    const r = await report({ groupBy: 'workspace,day,service,model' });
    const csv = usageToCsv(r);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(csv.split('\r\n')[0]).toBe(
      'workspace_id,workspace_slug,day,service,model,spans,bytes,calls,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens,reasoning_tokens,cost_usd,price_versions,provisional',
    );
    const records = csvRecords(csv);
    expect(records).toHaveLength(r.rows.length);
    // formula-looking text from span data is defused; commas and quotes are quoted
    expect(records.map((x) => x.service)).toContain('\'=HYPERLINK("http://x")');
    expect(records.map((x) => x.model)).toContain("'+claude-3-haiku");
    expect(records.map((x) => x.service)).toContain('llm,worker');
    expect(csv).toContain('"\'=HYPERLINK(""http://x"")"');
    expect(records.reduce((a, x) => a + Number(x.spans), 0)).toBe(r.totals.spans);
    expect(records[0]!.day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('reads days from from/to, to exclusive', () => {
    expect(usageQuerySchema.parse({ from: '2026-11-01', to: '2026-12-01' })).toMatchObject({ fromDay: '2026-11-01', toDay: '2026-11-30' });
    expect(usageQuerySchema.parse({ from: '2026-11-01T15:00:00Z', to: '2026-11-02T00:00:01Z' })).toMatchObject({ fromDay: '2026-11-01', toDay: '2026-11-02' });
    const bad = (q: Record<string, string>): string => {
      const r = usageQuerySchema.safeParse(q);
      return r.success ? '' : r.error.issues[0]!.path.join('.');
    };
    expect(bad({ from: '2026-11-02', to: '2026-11-01' })).toBe('to');
    expect(bad({ from: '2020-01-01', to: '2026-11-01' })).toBe('to');
    expect(bad({ groupBy: 'workspace,host' })).toBe('groupBy.1');
    expect(bad({ format: 'xlsx' })).toBe('format');
  });
});
